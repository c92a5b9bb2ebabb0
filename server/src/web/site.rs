//! The site's one table: every page module lists its routes, who may use
//! each, and its place in the menu; the router, the permission the `Member`
//! extractor checks, and the menu are all read from here, so a page is
//! written down once. A community route without a permission cannot be
//! written; one reached by another door (a public route taking `Member`)
//! is refused to everyone and logged.

use std::sync::LazyLock;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{self, MethodRouter};
use axum::Router;

use super::{
    accounts, alerts, audit, checkins, dashboard, district, entries, evidence, fleet, gates, home, hours, import, keys,
    login, outside, passes, password, phone, print, quarantine, receipt, register, residents, returnee_list, returnees,
    roster, sensors, summary, trends, visitors, volunteers, AppState,
};
use crate::leaves::roles::Perm;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: logging in, a phone's pass, the public forms, receipts, the
    /// evidence log.
    Public,
    /// Any logged-in account, a community's or the district's.
    Account,
    /// A community's account whose role holds the permission.
    Member(Perm),
}

impl From<Perm> for Access {
    fn from(p: Perm) -> Access {
        Access::Member(p)
    }
}

/// One route: method, axum path pattern, who may use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// A page module's routes and menu entries.
#[derive(Default)]
pub struct Table {
    routes: Vec<(Route, MethodRouter<AppState>)>,
    menu: Vec<(&'static str, &'static str)>,
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    /// A menu entry: the link and the key of its words. The entry is shown
    /// to the roles that may GET `href`.
    pub fn menu(mut self, href: &'static str, word: &'static str) -> Table {
        self.menu.push((href, word));
        self
    }

    pub fn get<H, T>(self, path: &'static str, access: impl Into<Access>, handler: H) -> Table
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("GET", path, access.into(), routing::get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, access: impl Into<Access>, handler: H) -> Table
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("POST", path, access.into(), routing::post(handler))
    }

    /// The largest body the last route reads (axum's default is 2 MB).
    pub fn body_limit(mut self, bytes: usize) -> Table {
        if let Some((route, router)) = self.routes.pop() {
            self.routes.push((route, router.layer(DefaultBodyLimit::max(bytes))));
        }
        self
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        router: MethodRouter<AppState>,
    ) -> Table {
        self.routes.push((Route { method, path, access }, router));
        self
    }
}

/// Every page module, in menu order.
fn tables() -> Vec<Table> {
    vec![
        dashboard::table(),
        residents::table(),
        import::table(),
        print::table(),
        passes::table(),
        phone::table(),
        quarantine::table(),
        returnee_list::table(),
        returnees::table(),
        checkins::table(),
        sensors::table(),
        entries::table(),
        outside::table(),
        trends::table(),
        summary::table(),
        alerts::table(),
        gates::table(),
        roster::table(),
        volunteers::table(),
        hours::table(),
        accounts::table(),
        password::table(),
        keys::table(),
        audit::table(),
        district::table(),
        fleet::table(),
        super::updates::table(),
        login::table(),
        visitors::table(),
        home::table(),
        register::table(),
        receipt::table(),
        evidence::table(),
    ]
}

/// The router of every page.
pub fn router() -> Router<AppState> {
    // A menu entry for a page nobody can open fails here, at start-up.
    let _ = menu();
    tables().into_iter().flat_map(|t| t.routes).fold(Router::new(), |r, (route, m)| r.route(route.path, m))
}

/// Every route and who may use it.
pub fn routes() -> &'static [Route] {
    static ROUTES: LazyLock<Vec<Route>> =
        LazyLock::new(|| tables().into_iter().flat_map(|t| t.routes.into_iter().map(|(r, _)| r)).collect());
    &ROUTES
}

/// Who may use `method` on the route pattern `path`; `None` for no route.
pub fn access(method: &str, path: &str) -> Option<Access> {
    routes().iter().find(|r| r.method == method && r.path == path).map(|r| r.access)
}

/// The menu: link, key of its words, and the permission its page needs.
pub fn menu() -> &'static [(&'static str, &'static str, Perm)] {
    static MENU: LazyLock<Vec<(&'static str, &'static str, Perm)>> = LazyLock::new(|| {
        tables()
            .into_iter()
            .flat_map(|t| t.menu)
            .map(|(href, word)| match access("GET", href) {
                Some(Access::Member(perm)) => (href, word, perm),
                other => panic!("the menu links {href}, which is not a community page ({other:?})"),
            })
            .collect()
    });
    &MENU
}
