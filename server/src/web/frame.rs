//! The frame around every page (header, menu, title) and the answers a
//! page gives when it cannot do what was asked ([`WebError`]).

use std::fmt::Display;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::{site, t, Lang, Session};
use crate::leaves::roles::Perm;
use crate::records::community::CommunityError;

/// The page frame: header, menu (when logged in), title, content.
pub fn frame(lang: Lang, title: &str, session: Option<&Session>, body: Markup) -> Markup {
    frame_with_menu(lang, title, session.map(|s| menu(lang, s)), None, body)
}

/// A public page that is only its title: a link that names nothing, a
/// pass no longer valid, a gate not in service.
pub fn title_page(lang: Lang, status: StatusCode, title_key: &str) -> Response {
    (status, frame(lang, t(lang, title_key), None, html! {})).into_response()
}

/// The same frame for a page that reloads itself every `seconds` (a live
/// list on a screen at the gate office).
pub fn live_frame(lang: Lang, title: &str, session: &Session, seconds: u32, body: Markup) -> Markup {
    frame_with_menu(lang, title, Some(menu(lang, session)), Some(seconds), body)
}

fn frame_with_menu(lang: Lang, title: &str, menu: Option<Markup>, refresh: Option<u32>, body: Markup) -> Markup {
    // Tables become cards on a phone: each cell carries its heading.
    let body = maud::PreEscaped(crate::leaves::cells::label_cells(&body.into_string()));
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                @if let Some(s) = refresh { meta http-equiv="refresh" content=(s); }
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(lang, "app")) }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                header {
                    strong { (t(lang, "app")) }
                    " "
                    span.lang {
                        @match lang {
                            Lang::Zh => a href="/lang/en" { "English" },
                            Lang::En => a href="/lang/zh" { "中文" },
                        }
                    }
                }
                @if let Some(menu) = menu { (menu) }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The menu: only the pages this account's role may open.
fn menu(lang: Lang, s: &Session) -> Markup {
    let logout = html! {
        form.inline method="post" action="/logout" {
            input type="hidden" name="csrf" value=(s.csrf);
            button {
                (t(lang, "logout")) " (" span translate="no" { (s.user) }
                @if s.community.is_some() { ", " (t(lang, s.role.word_key())) }
                ")"
            }
        }
    };
    if s.community.is_none() {
        return html! { nav { a href="/district" { (t(lang, "district")) } a href="/fleet" { (t(lang, "fleet")) } a href="/updates" { (t(lang, "updates")) } a href="/account" { (t(lang, "my_account")) } (logout) } };
    }
    let links = html! {
        @for &(href, word, perm) in site::menu() {
            @if s.role.may(perm) {
                a href=(href) {
                    (s.w(word))
                    @if perm == Perm::ReadAlerts && href == "/alerts" && s.open_alerts > 0 {
                        " " span.badge { (s.open_alerts) }
                    }
                }
            }
        }
        a href="/totp" { (t(lang, "totp_short")) }
        a href="/account" { (t(lang, "my_account")) }
        (logout)
    };
    // On a phone the menu folds into one line (the open alerts shown on
    // it); a desktop shows it whole. Without scripts, so written twice.
    html! {
        @if let Some(c) = &s.community { p.compound { b { (s.place.name_or(c)) } } }
        nav.wide { (links) }
        details.narrow {
            summary {
                (t(lang, "menu"))
                @if s.open_alerts > 0 && s.role.may(Perm::ReadAlerts) {
                    " · " (t(lang, "alerts")) " " span.badge { (s.open_alerts) }
                }
            }
            nav { (links) }
        }
    }
}

/// The style of every page. Phone first: below 40em (a phone held
/// upright) the menu folds, tables become cards (cells labelled by
/// `leaves::cells`), and every button, field and menu entry is at least
/// 44 px tall, as a finger needs.
const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:0;color:#1b1f24;background:#f5f6f8;overflow-wrap:anywhere}\
header{background:#0b5d3b;color:#fff;padding:0 1em;display:flex;justify-content:space-between;align-items:center;min-height:48px}header a{color:#fff}\
header a,nav a,summary,a.button,td a,.card a,.stat a,li>a:only-child,p>a:only-child{display:inline-flex;align-items:center;min-height:44px;min-width:44px}\
nav{display:flex;flex-wrap:wrap;gap:0 .9em;padding:0 1em;background:#fff;border-bottom:1px solid #ddd}\
nav a{color:#0b5d3b;text-decoration:none}details.narrow{display:none}\
summary{padding:0 1em;background:#fff;border-bottom:1px solid #ddd;color:#0b5d3b;cursor:pointer;width:100%;box-sizing:border-box}\
main{padding:0 1em 2em;max-width:70em}p.compound{margin:0;padding:.5em 1em;background:#e8f2ec;color:#0b5d3b}\
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}td,th{border-bottom:1px solid #e3e3e3;padding:.35em .4em;text-align:left}\
form.card,div.card{background:#fff;padding:1em;border:1px solid #ddd;margin:1em 0;max-width:30em}\
label{display:block;margin:.4em 0}input,select,textarea{font-size:1em;padding:.35em;width:100%;box-sizing:border-box;min-height:44px}\
input[type=radio],input[type=checkbox]{width:1.4em;min-height:1.4em;margin:0 .4em 0 0;vertical-align:middle}\
label.inline{display:inline-flex;align-items:center;min-height:44px;min-width:44px;margin-right:1em}\
label:has(>input[type=checkbox]),label:has(>input[type=radio]){display:flex;align-items:center;min-height:44px}\
button{font-size:1em;min-height:44px;min-width:44px;padding:.45em 1em;background:#0b5d3b;color:#fff;border:0;border-radius:4px;margin-top:.4em}\
a.button{padding:0 1em;background:#0b5d3b;color:#fff;border-radius:4px;text-decoration:none}\
.inline{display:inline}.inline button{padding:0 .8em;margin:0}.inline input{width:auto}.danger{background:#b3261e}.bad{color:#b3261e;font-weight:600}\
.ok{color:#0b5d3b}.msg{padding:.6em;background:#fff3cd;border:1px solid #e0c36a}.stat{display:inline-block;background:#fff;border:1px solid #ddd;padding:.6em 1em;margin:.3em .3em 0 0}\
.stat b{font-size:1.6em;display:block}.badge{background:#b3261e;color:#fff;border-radius:1em;padding:0 .5em;font-size:.85em}.qr svg{width:min(80vw,320px);height:auto}code{word-break:break-all}\
ul.fleet{list-style:none;padding:0}ul.fleet li{background:#fff;border:1px solid #ddd;padding:.5em .7em;margin:.3em 0}\
ul.fleet li.down{border-left:4px solid #b3261e}li.current{font-weight:600}svg.narrow{display:none}\
.hbars{background:#fff;padding:.4em .6em;max-width:45em}.hbar{display:flex;align-items:center;gap:.5em;margin:.25em 0}\
.hbar span:first-child{flex:0 0 45%}.hbar span:last-child{white-space:nowrap}.hbar i{display:block;background:#b3261e;height:1em;min-width:2px}.sort{display:inline-block;min-height:44px;line-height:44px;padding:0 .6em}\
@media (max-width:40em){nav.wide{display:none}details.narrow{display:block}details.narrow nav{flex-direction:column}\
.scroll table,.scroll tbody,.scroll tr,.scroll td,.scroll th{display:block}.scroll tr:has(>th):not(:has(>td)){display:none}\
.scroll tr{border:1px solid #ddd;border-radius:4px;margin:.6em 0;padding:.4em .6em;background:#fff}.scroll td,.scroll th{border:0;padding:.15em 0}\
.scroll td:empty{display:none}.scroll td[data-label]::before{content:attr(data-label) '：';color:#5f6368}\
:lang(en) .scroll td[data-label]::before{content:attr(data-label) ': '}\
.inline{display:block}.inline input{width:100%}svg.wide{display:none}svg.narrow{display:block}}\
@media print{nav,header,summary,.noprint{display:none}}";

/// Why a page could not do what was asked. Handlers return it with `?`;
/// it answers with its status and a page in the reader's language. A
/// database or other internal failure is logged and shown as a plain
/// "server error" (its details are for the log, not the browser).
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    lang: Lang,
    /// The key of the page's title.
    title: &'static str,
    /// What went wrong and what to do, in the reader's language.
    text: Option<String>,
    /// The menu, when the reader is logged in.
    menu: Option<Markup>,
    /// The page to go back to and try again, if not the front page.
    back: Option<String>,
}

impl WebError {
    fn with(status: StatusCode, session: &Session, title: &'static str, text: Option<String>) -> WebError {
        WebError { status, lang: session.lang, title, text, menu: Some(menu(session.lang, session)), back: None }
    }

    /// A record that does not exist in the account's community: the same
    /// answer whether it exists elsewhere or nowhere.
    pub fn not_found(session: &Session) -> WebError {
        WebError::with(StatusCode::NOT_FOUND, session, "not_found", None)
    }

    /// A form without this session's (or this browser's) CSRF token.
    pub fn csrf(lang: Lang) -> WebError {
        WebError { status: StatusCode::FORBIDDEN, lang, title: "csrf_failed", text: None, menu: None, back: None }
    }

    /// A page or action the account's role does not allow.
    pub fn refused(session: &Session) -> WebError {
        let lang = session.lang;
        let text = format!("{} ({})", t(lang, "role_refused"), t(lang, session.role.word_key()));
        WebError::with(StatusCode::FORBIDDEN, session, "forbidden", Some(text))
    }

    /// Input the page cannot take: `text` says what and how to fix it, in
    /// the reader's language; `title` is the key of the page's title.
    pub fn invalid(session: &Session, title: &'static str, text: impl Into<String>) -> WebError {
        WebError::with(StatusCode::BAD_REQUEST, session, title, Some(text.into()))
    }

    /// A change that cannot be made in the state things are in now.
    pub fn conflict(session: &Session, title: &'static str, text: impl Into<String>) -> WebError {
        WebError::with(StatusCode::CONFLICT, session, title, Some(text.into()))
    }

    /// The same before login (no menu).
    pub fn invalid_public(lang: Lang, title: &'static str, text: impl Into<String>) -> WebError {
        WebError { status: StatusCode::BAD_REQUEST, lang, title, text: Some(text.into()), menu: None, back: None }
    }

    /// Too many requests from this client for now.
    pub fn rate_limited(lang: Lang) -> WebError {
        WebError {
            status: StatusCode::TOO_MANY_REQUESTS,
            lang,
            title: "rate_limited",
            text: None,
            menu: None,
            back: None,
        }
    }

    /// Something failed inside the server: logged with its cause.
    pub fn internal(cause: impl Display) -> WebError {
        tracing::error!(error = %cause, "web page failed");
        WebError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            lang: Lang::Zh,
            title: "server_error",
            text: None,
            menu: None,
            back: None,
        }
    }

    /// A change a community's records refused: words for what the reader
    /// typed, "not found" for a record not in the community, 500 for the
    /// database.
    pub fn community(session: &Session, title: &'static str, e: CommunityError) -> WebError {
        match e {
            CommunityError::Db(e) => WebError::internal(e),
            CommunityError::NotFound(_) => WebError::not_found(session),
            CommunityError::Invalid(key) => {
                let text = session.place.say(&crate::leaves::words::detail_text(session.lang, &key, 0));
                WebError::invalid(session, title, text)
            }
        }
    }

    /// Offers a way back to `href`, where the form can be tried again.
    pub fn back(mut self, href: impl Into<String>) -> WebError {
        self.back = Some(href.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<crate::db::DbError> for WebError {
    fn from(e: crate::db::DbError) -> WebError {
        WebError::internal(e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let body = if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            // The reader's language is not known here: both.
            html! { p.msg { (t(Lang::Zh, "server_error_text")) } p.msg { (t(Lang::En, "server_error_text")) } }
        } else {
            html! {
                @if let Some(text) = &self.text { p.msg #error { (text) } }
                @if let Some(back) = &self.back {
                    p { a.button href=(back) { "← " (t(lang, "try_again")) } }
                } @else if self.menu.is_none() {
                    p { a href="/" { "←" } }
                }
            }
        };
        (self.status, frame_with_menu(lang, t(lang, self.title), self.menu, None, body)).into_response()
    }
}
