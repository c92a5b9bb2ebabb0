//! Screenshots.
