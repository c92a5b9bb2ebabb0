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
];

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
}
