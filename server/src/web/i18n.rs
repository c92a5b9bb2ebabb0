//! The web pages' words in Simplified Chinese (default) and English.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// (key, 中文, English). Keys are the English words' stable short names.
const WORDS: &[(&str, &str, &str)] = &[
    ("app", "守门 · 社区管理", "Shoumen · Committee"),
    ("dashboard", "概览", "Overview"),
    ("residents", "住户", "Residents"),
    ("passes", "通行证", "Passes"),
    ("quarantine", "居家隔离", "Home quarantine"),
    ("entries", "通行记录", "Entries"),
    ("alerts", "警报", "Alerts"),
    ("gates", "门岗", "Gates"),
    ("logout", "退出", "Log out"),
    ("login", "登录", "Log in"),
    ("user", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("login_failed", "用户名或密码错误", "Wrong user name or password"),
    ("csrf_failed", "表单已过期，请刷新页面后重试", "The form expired; reload the page and try again"),
    ("rate_limited", "请求太频繁，请一分钟后再试", "Too many requests; try again in a minute"),
    ("name", "姓名", "Name"),
    ("unit", "房号", "Unit"),
    ("phone", "电话", "Phone"),
    ("add", "添加", "Add"),
    ("role", "类别", "Role"),
    ("resident", "住户", "Resident"),
    ("visitor", "访客", "Visitor"),
    ("staff", "工作人员", "Staff"),
    ("delivery", "快递外卖", "Delivery"),
    ("days", "有效天数", "Valid days"),
    ("issue", "发放通行证", "Issue pass"),
    ("revoke", "吊销", "Revoke"),
    ("revoked", "已吊销", "Revoked"),
    ("expired", "已过期", "Expired"),
    ("valid", "有效", "Valid"),
    ("valid_until", "有效期至", "Valid until"),
    ("status", "状态", "Status"),
    ("card", "打印卡片", "Printable card"),
    ("phone_link", "手机链接", "Phone link"),
    ("show_at_gate", "在门岗摄像头前出示此二维码", "Show this QR code to the gate camera"),
    ("from", "开始", "From"),
    ("until", "结束", "Until"),
    ("note", "备注", "Note"),
    ("remove", "移除", "Remove"),
    ("time", "时间", "Time"),
    ("gate", "门岗", "Gate"),
    ("direction", "方向", "Direction"),
    ("in", "进", "In"),
    ("out", "出", "Out"),
    ("decision", "结果", "Decision"),
    ("allow", "放行", "Allowed"),
    ("deny", "拒绝", "Refused"),
    ("guard", "转人工", "Guard"),
    ("reason", "原因", "Reason"),
    ("temperature", "体温", "Temperature"),
    ("export", "导出 CSV", "Export CSV"),
    ("fever", "发热", "Fever"),
    ("tamper", "篡改", "Tampering"),
    ("acknowledge", "确认", "Acknowledge"),
    ("count", "次数", "Count"),
    ("detail", "详情", "Detail"),
    ("last_seen", "最后在线", "Last seen"),
    ("queue", "待上传", "Queue"),
    ("clock_skew", "时钟偏差", "Clock skew"),
    ("health", "设备状态", "Health"),
    ("never", "从未", "never"),
    ("new_token", "新门岗登记码", "New enrollment token"),
    ("token_hint", "在门岗设备上运行：", "Run on the gate kiosk:"),
    ("entries_today", "今日通行", "Entries today"),
    ("open_alerts", "未处理警报", "Open alerts"),
    ("per_hour", "近 24 小时每小时通行", "Entries per hour, last 24 hours"),
    ("visitor_title", "访客登记", "Visitor registration"),
    ("visitor_hint", "填写要拜访的房号，提交后出示手机上的二维码即可通行。", "Enter the unit you visit; then show the QR code on your phone at the gate."),
    ("visitor_name", "您的称呼（可选）", "Your name (optional)"),
    ("submit", "提交", "Submit"),
    ("unknown_gate", "未知门岗", "Unknown gate"),
    ("unknown_unit", "没有这个房号", "There is no such unit"),
    ("not_found", "未找到", "Not found"),
    ("pass_not_valid", "此通行证已失效", "This pass is no longer valid"),
    ("no_rows", "暂无", "None yet"),
    ("all_units", "全部", "all"),
    ("saved", "已保存", "Saved"),
    ("corrected", "按设备时钟校正", "corrected from the kiosk's clock"),
    ("enrolled", "登记时间", "Enrolled"),
    ("device_revoked", "已停用", "Revoked"),
    // Alert kinds (see alerts::KINDS).
    ("quarantine_exit", "隔离人员试图外出", "Quarantined resident tried to go out"),
    ("door_forced_open", "门被强行打开", "Door forced open"),
    ("door_held_open", "门长时间未关", "Door held open"),
    ("repeated_refusals", "同一通行证多次被拒", "Same pass refused again and again"),
    ("device_fault", "设备故障超过一分钟", "Device fault for over a minute"),
    ("lists_too_old", "门岗名单过期", "Gate lists out of date"),
    ("kiosk_silent", "门岗设备超过10分钟未联网", "Gate kiosk silent for over 10 minutes"),
    ("too_many_alerts", "警报过多（已合并计数）", "Too many alerts (counted together)"),
    ("kind", "类型", "Kind"),
    ("ack_note", "处理说明", "What was done"),
    ("acked_by", "处理人", "Handled by"),
    ("open", "未处理", "Open"),
    ("webhook", "警报推送（企业微信 / 钉钉 / JSON）", "Alert messages (WeCom / DingTalk / JSON)"),
    ("webhook_url", "机器人地址 (Webhook)", "Robot address (webhook URL)"),
    ("webhook_format", "格式", "Format"),
    ("webhook_secret", "钉钉加签密钥（可选）", "DingTalk signing secret (optional)"),
    ("webhook_off", "未设置：警报只在本页显示", "Not set: alerts show on this page only"),
    ("webhook_pending", "待发送", "waiting to be sent"),
    ("save", "保存", "Save"),
    ("exit_not_checked", "出口未核验：仅有出门按钮，无法拦截隔离人员外出", "Exit not checked: an exit button only, quarantined residents cannot be stopped going out"),
    ("layout", "布局", "Layout"),
    ("account_locked", "密码错误次数过多，账户已暂时锁定", "Too many wrong passwords: the account is locked for a while"),
    ("needs_assistance", "需要协助（老人、残障）", "Needs assistance (elderly, disabled)"),
    ("unit_quarantined", "该房号正在居家隔离，暂不接待访客。请联系居委会。", "This unit is under home quarantine and cannot receive visitors; please contact the committee."),
    // The district's pages.
    ("district", "街道 / 区 总览", "District overview"),
    ("community", "小区", "Community"),
    ("kiosks", "门岗设备", "Kiosks"),
    ("kiosks_silent", "失联", "silent"),
    ("allowed_in", "进门", "In"),
    ("allowed_out", "出门", "Out"),
    ("refused", "拒绝", "Refused"),
    ("units_quarantined", "隔离户", "Units in quarantine"),
    ("day", "日期", "Day"),
    ("show", "查看", "Show"),
    ("totals", "合计", "Total"),
    ("district_only", "区级账号只能查看总览", "District accounts see the overview only"),
    // Entries search and who is out now.
    ("search", "查询", "Search"),
    ("any", "全部", "any"),
    ("pass", "通行证", "Pass"),
    ("newest_shown", "显示最新的 {} 条；请缩小查询范围或导出 CSV。", "The newest {} are shown; narrow the search or export CSV."),
    ("outside", "外出中", "Out now"),
    ("outside_total", "目前在小区外", "Outside now"),
    ("left_at", "外出时间", "Left at"),
    ("people", "人数", "People"),
    ("overstaying", "通行证已到期仍在小区内的访客", "Visitors still inside after their pass ended"),
    ("ended", "到期", "Ended"),
    ("outside_hint", "按各门岗同步的记录，取每张通行证最后一次放行的方向。", "From every gate's synced entries: each pass's last allowed direction."),
    ("outside_unsure", "有门岗只用出门按钮，经该门外出的人不会出现在这里。", "Some gates use only an exit button: people who left through them do not show here."),
    ("retention", "数据保留", "Retention"),
    ("retention_policy", "通行记录保留 {} 天，访客姓名在通行证到期 {} 天后删除；每晚 3 点执行。", "Entries are kept {} days; a visitor's name is deleted {} days after their pass ended. Applied every night at 03:00."),
    ("entry_days", "通行记录保留天数", "Days to keep entries"),
    ("visitor_days", "访客姓名保留天数", "Days to keep visitors' names"),
    ("trends", "趋势", "Trends"),
    ("last_7_days", "近 7 天", "Last 7 days"),
    ("last_30_days", "近 30 天", "Last 30 days"),
    ("entries_per_day", "每日各门岗通行", "Entries per day, by gate"),
    ("fevers_per_day", "每日发热", "Fevers per day"),
    ("refusals_by_reason", "拒绝原因", "Refusals by reason"),
    ("peak_hours", "高峰时段（按小时）", "Peak hours"),
    ("kind_scan", "扫码", "Scan"),
    ("kind_manual", "人工开门", "Opened by hand"),
    ("kind_exit_button", "出门按钮", "Exit button"),
    ("kind_alarm", "报警", "Alarm"),
];

/// Reason codes the kiosks record, in words for the committee:
/// (code, 中文, English). The kiosk's own words for the person at the gate
/// are in `ui/adapters.slint`; a test keeps the two lists in step.
pub const REASONS: &[(&str, &str, &str)] = &[
    ("ok", "正常", "Normal"),
    ("fever", "体温异常", "Fever"),
    ("passback", "防回传：同方向重复通行", "Anti-passback: same way twice"),
    ("passback_override", "值班人员放行（防回传）", "Let through by the guard (anti-passback)"),
    ("quarantine_no_exit", "居家隔离者试图外出", "Home quarantine: tried to go out"),
    ("quarantine_return", "居家隔离者回家", "Home quarantine: came home"),
    ("expired", "通行证已过期", "Pass expired"),
    ("not_yet_valid", "通行证尚未生效", "Pass not valid yet"),
    ("revoked", "通行证已被注销", "Pass withdrawn"),
    ("bad_signature", "伪造的通行证（签名不符）", "Forged pass (bad signature)"),
    ("unknown_key", "其他小区的通行证", "Pass of another community"),
    ("unknown_issuer", "其他小区的通行证", "Pass of another community"),
    ("not_a_pass", "不是通行证二维码", "Not a pass"),
    ("bad_claims", "不是通行证二维码", "Not a pass"),
    ("allowed_without_temperature", "测温仪故障，未测体温", "No temperature taken (thermometer out of order)"),
    ("thermometer_fault", "测温仪故障", "Thermometer out of order"),
    ("measure_timeout", "未测到体温", "No temperature taken"),
    ("lists_too_old", "门岗名单过期", "Kiosk's lists out of date"),
    ("manual_open", "值班人员开门", "Opened by the guard"),
    ("exit_button", "出门按钮", "Exit button"),
    ("store_fault", "记录无法保存", "Entry could not be recorded"),
    ("door_forced_open", "门被强行打开", "Door forced open"),
    ("door_held_open", "门长时间未关", "Door held open"),
    ("repeated_refusals", "同一通行证多次被拒", "Same pass refused again and again"),
    ("device_fault", "设备故障超过一分钟", "Device fault for over a minute"),
];

/// A reason code in words, for HTML; a code this server does not know (a
/// newer kiosk's) is shown as it is, escaped.
pub fn reason(lang: Lang, code: &str) -> String {
    super::esc(&reason_text(lang, code))
}

/// A reason code in words, as plain text.
pub fn reason_text(lang: Lang, code: &str) -> String {
    match REASONS.iter().find(|r| r.0 == code) {
        Some(r) => match lang {
            Lang::Zh => r.1.to_string(),
            Lang::En => r.2.to_string(),
        },
        None => code.to_string(),
    }
}

pub fn t(lang: Lang, key: &str) -> &'static str {
    match WORDS.iter().find(|w| w.0 == key) {
        Some(w) => match lang {
            Lang::Zh => w.1,
            Lang::En => w.2,
        },
        None => {
            debug_assert!(false, "missing word {key}");
            "?"
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_unique_and_translated() {
        let mut keys: Vec<_> = super::WORDS.iter().map(|w| w.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
        assert!(super::WORDS.iter().all(|w| !w.1.is_empty() && !w.2.is_empty()));
    }

    /// Every reason the kiosk can show has words for the committee too.
    #[test]
    fn every_kiosk_reason_has_words() {
        let slint = include_str!("../../../ui/adapters.slint");
        let reasons = &slint[slint.find("function reason(").unwrap()..];
        let reasons = &reasons[..reasons.find("public pure function").unwrap()];
        let mut codes = Vec::new();
        for part in reasons.split("code == \"").skip(1) {
            codes.push(&part[..part.find('"').unwrap()]);
        }
        assert!(codes.len() > 20, "read the kiosk's reasons");
        for code in codes {
            assert!(super::REASONS.iter().any(|r| r.0 == code), "no words for reason {code}");
        }
    }

    #[test]
    fn every_alert_kind_has_words() {
        for kind in crate::alerts::KINDS {
            assert!(super::WORDS.iter().any(|w| w.0 == *kind), "no words for alert kind {kind}");
        }
    }
}
