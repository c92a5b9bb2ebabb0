//! The web pages' words in Simplified Chinese (default) and English.

use shoumen_protocol::{AlertKind, Reason};

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
    ("accounts", "账号", "Accounts"),
    ("returnees", "返{city}人员", "Returnees"),
    ("rules", "地区规则", "Region rules"),
    ("documents", "承诺书与告知书", "Pledges and notices"),
    ("document", "文书", "Document"),
    ("origin", "来自", "Coming from"),
    ("origin_code", "行政区划代码（省 2 位、市 4 位、区县 6 位）", "Division code (province 2 digits, city 4, district 6)"),
    ("arrival_day", "抵达日期", "Arrival day"),
    ("which_document", "查看适用文书", "Which document applies"),
    ("no_rule", "没有适用的规则：请添加一条留空地区的默认规则。", "No rule applies: add a default rule with an empty division."),
    ("everywhere_else", "其他所有地区（默认）", "Everywhere else (default)"),
    ("days_word", "天", "days"),
    ("days_period", "期限（天数）", "Period (days)"),
    ("document_name", "文书名称", "Document name"),
    ("document_text_help", "正文留空即使用所选类型的标准文本。正文中的 {days} 会显示为上面的天数，请不要直接写数字；{city} 会显示为本小区设置的城市简称（如“沪”）。", "Leave the texts empty to use the standard text of the kind chosen. {days} in a text shows the period above; do not write the number itself. {city} shows the city set for the compound."),
    ("menu", "菜单", "Menu"),
    ("acct_err_role", "请选择角色：管理员、工作人员、志愿者、物业或公安。", "Choose a role: admin, staff, volunteer, property or police."),
    ("search_residents", "按姓名、电话或房号查找", "Find by name, phone or unit"),
    ("who_sensor", "门磁", "Door sensor"),
    ("who_account", "账号", "Account"),
    ("who_broker", "门磁消息服务器", "The sensors' broker"),
    ("try_again", "返回修改", "Go back and fix it"),
    ("pledge", "承诺书（自我健康监测）", "Pledge (self-monitoring)"),
    ("notice", "告知书（居家隔离）", "Notice (home quarantine)"),
    ("rule_region", "地区（只选省即全省，选到市即全市；都不选即其他所有地区）", "Region (a province alone means all of it; none chosen: everywhere else)"),
    ("rule_help", "地区越具体越优先（区县 > 市 > 省 > 默认）；日期留空表示不限。", "The most specific division wins (district > city > province > default); leave a date empty for no limit."),
    ("document_help", "保存即生成新版本；已签署的记录始终指向签署时的版本。", "Saving makes a new version; a signed record always names the version it signed."),
    ("keys", "签名密钥", "Signing keys"),
    ("key_current", "当前签发通行证的密钥", "The key signing new passes"),
    ("key_next", "下一把密钥（已下发给门岗，尚未用于签发）", "The next key (sent to the kiosks, not yet signing)"),
    ("key_old", "旧密钥（仍被信任，仍为名单签名）", "The old key (still trusted, still signing the lists)"),
    ("key_kiosks", "{} / {} 台在用门岗已持有新密钥。", "{} of {} kiosks in service hold the new key."),
    ("key_create", "生成下一把密钥", "Create the next key"),
    ("key_create_note", "新密钥先随名单下发给所有门岗；之后再启用它签发新通行证。", "The new key first travels to every kiosk with the lists; then it can sign new passes."),
    ("key_activate", "启用新密钥", "Sign new passes with the new key"),
    ("key_activate_note", "启用后新通行证用新密钥签发；旧通行证在到期前继续有效。尚未同步的门岗在同步前不认新通行证。", "New passes are signed with the new key; old passes stay valid until they expire. A kiosk that has not synced yet refuses new passes until it does."),
    ("key_resign", "用新密钥重签旧通行证", "Re-sign the old key's passes"),
    ("key_resign_note", "还有 {} 张有效通行证用旧密钥签发。重签后号码和有效期不变，手机页面自动更新，纸质卡需重新打印。", "{} valid passes are signed with the old key. Re-signing keeps their ids and expiry; phone pages update themselves, printed cards need printing again."),
    ("key_retire", "停用旧密钥", "Retire the old key"),
    ("key_retire_note", "所有在用门岗都持有新密钥、且没有通行证再依赖旧密钥后，才能停用。", "Possible once every kiosk in service holds the new key and no pass depends on the old one."),
    ("summary", "每日汇总", "Daily summary"),
    ("summary_sent_at", "每天早上 7:30 通过社区的机器人发送前一天的汇总。", "Every morning at 7:30 the day before is sent through the community's robot."),
    ("quarantine_started", "新增居家隔离", "Home quarantines started"),
    ("quarantine_ended", "解除居家隔离", "Home quarantines ended"),
    ("visitors_registered", "访客登记", "Visitors registered"),
    ("alerts_raised", "新警报", "Alerts raised"),
    ("edit", "修改", "Edit"),
    ("head", "户主", "head"),
    ("head_of_household", "户主（可为家庭成员申请通行证）", "Head of household (may ask for passes for its members)"),
    ("unit_change_note", "更改房号会吊销此人现有的通行证（通行证上印有房号），之后请重新发放。", "Changing the unit revokes this person's passes (a pass names its unit); issue new ones afterwards."),
    ("move_out_note", "搬离：此人不再显示在住户列表中，其所有通行证立即吊销，记录保留。", "Moving out: the person leaves the residents list, all their passes are revoked at once, and the records are kept."),
    ("move_out", "登记搬离", "Move out"),
    ("passes_revoked_unit", "已保存。房号已更改，已吊销 {} 张旧通行证，请重新发放。", "Saved. The unit changed, so {} old passes were revoked; issue new ones."),
    ("import", "批量导入", "Import"),
    ("import_help", "上传 Excel（.xlsx）或 CSV 文件。第一行写列名：姓名（name）、房号（unit），可选电话（phone）、户主（head，填“是”）。先“检查”，确认无误后再“导入”。", "Upload an Excel (.xlsx) or CSV file. The first row names the columns: name, unit, and optionally phone and head (yes). Check first; import once the check is right."),
    ("file", "文件", "File"),
    ("import_check", "检查（不写入）", "Check (writes nothing)"),
    ("import_now", "导入", "Import"),
    ("import_rewritten", "房号将按本小区的写法保存", "Units to be stored in the compound's form"),
    ("as_typed", "文件中的写法", "As in the file"),
    ("as_stored", "保存为", "Stored as"),
    ("and_more", "……另有 {} 行。", "… and {} more."),
    ("import_ready", "可以导入 {} 行。", "{} rows are ready to import."),
    ("imported", "已导入 {} 位住户。", "{} residents imported."),
    ("import_problems", "有问题的行（不会导入）", "Rows with a problem (not imported)"),
    ("line", "行号", "Line"),
    ("problem", "问题", "Problem"),
    ("print_building", "按楼栋打印通行卡", "Print a building's cards"),
    ("print_pick", "选择楼栋：", "Pick a building:"),
    ("building", "楼栋", "Building"),
    ("cards", "通行卡", "Cards"),
    ("without_pass", "本楼有 {} 位住户还没有有效通行证。", "{} residents of this building have no valid pass."),
    ("issue_missing", "为他们发放一年期通行证", "Issue them a year's pass"),
    ("household", "家庭成员", "Household"),
    ("has_pass", "已有通行证", "Has a pass"),
    ("requested", "已申请，等待居委审核", "Asked; the committee will decide"),
    ("request_pass", "申请通行证", "Ask for a pass"),
    ("pass_requests", "户主的通行证申请", "Pass requests from heads of household"),
    ("approve", "批准", "Approve"),
    ("decline", "拒绝", "Decline"),
    ("audit", "操作记录", "Audit trail"),
    ("acct_admin", "管理员", "admin"),
    ("acct_staff", "工作人员", "staff"),
    ("acct_volunteer", "志愿者/门卫", "volunteer/guard"),
    ("acct_property", "物业", "property"),
    ("acct_police", "民警", "police"),
    ("forbidden", "无权操作", "Not allowed"),
    ("role_refused", "您的账号角色不能打开此页面或执行此操作，如有需要请联系管理员", "Your account's role may not open this page or do this; ask an admin if you need it"),
    ("invite", "邀请账号", "Invite an account"),
    ("invite_link", "把这个一次性链接发给对方（72 小时内有效）：", "Send this one-time link to the person (it works for 72 hours):"),
    ("gates_scope", "可查看的门岗（物业账号，逗号分隔；留空为全部）", "Gates it may read (property accounts, comma-separated; empty for all)"),
    ("join", "创建账号", "Create your account"),
    ("password_again", "再次输入密码", "Password again"),
    ("passwords_differ", "两次输入的密码不一致", "The two passwords differ"),
    ("disable", "停用", "Disable"),
    ("disabled", "已停用", "Disabled"),
    ("locked_until", "密码错误次数过多，锁定至", "Locked after wrong passwords until"),
    ("unlock", "解锁", "Unlock"),
    ("change_role", "更改角色", "Change role"),
    ("totp_code", "动态验证码（已开启时填写）", "Authenticator code (if turned on)"),
    ("totp_title", "两步验证（TOTP）", "Two-step login (TOTP)"),
    ("totp_short", "两步验证", "Two-step login"),
    ("totp_on", "已开启两步验证。", "Two-step login is on."),
    ("totp_scan", "用身份验证器应用扫描此二维码，然后输入它显示的 6 位数字以开启：", "Scan this code with an authenticator app, then enter the 6 digits it shows to turn it on:"),
    ("totp_turn_on", "开启", "Turn on"),
    ("totp_turn_off", "关闭两步验证", "Turn two-step login off"),
    ("pending_notices", "待确认的返{city}告知书", "Returnee notices waiting for confirmation"),
    ("pending_notices_help", "返{city}人员在手机上签署的居家隔离告知书，确认后门岗才会禁止该户外出；也可由户主在自己的通行证页面确认。", "A notice a returnee signed on the phone keeps the home in at the gates only once confirmed, here or by the head of the household on their pass page."),
    ("notice_confirm", "确认隔离", "Confirm"),
    ("notice_decline", "不予确认", "Decline"),
    ("head_notice", "家中有返{city}人员签署了居家隔离告知书。确认后，门岗将在下列日期内禁止本户外出：", "Someone of your home signed a home-quarantine notice. Once you confirm, the gates keep your home in on these days:"),
    ("head_notice_confirm", "确认居家隔离", "Confirm home quarantine"),
    ("head_notice_wrong", "如果不是您家的人，请联系居委会。", "If this is nobody of your home, call the committee."),
    ("q_status", "状态", "Status"),
    ("q_pending", "待确认（门岗不拦）", "Waiting for confirmation (the gates let them out)"),
    ("q_confirmed", "已生效", "In force at the gates"),
    ("q_committee", "居委会设置", "set by the committee"),
    ("q_returnee", "返{city}人员告知书", "a returnee's notice"),
    ("totp_already_on", "两步验证已开启：要换新的验证器，请先用当前验证码关闭它。", "Two-step login is on: to use another authenticator, turn it off first with a code from the current one."),
    ("totp_wrong", "验证码不正确。上面的二维码没有变，请检查手机时间是否准确，再输入应用里显示的最新 6 位数字。", "That code is not right. The code above has not changed: check that the phone's time is right, then enter the newest 6 digits the app shows."),
    ("login_code_missing", "此账号已开启两步验证：请同时输入身份验证器应用显示的 6 位数字。", "This account uses two-step login: enter the 6 digits your authenticator app shows as well."),
    ("export_reason", "导出原因（民警账号必填，会记入操作记录）", "Reason for the export (required for police accounts; kept in the audit trail)"),
    ("reason_needed", "请填写导出原因", "State the reason for the export"),
    ("chain_intact", "记录链完整", "The chain is intact"),
    ("chain_broken", "记录链在此处断开（有记录被删改）：第", "The chain is broken (a row was deleted or changed) at row"),
    ("action", "操作", "Action"),
    ("actor", "操作人", "Who"),
    ("from_where", "来源地址", "From"),
    ("what", "内容", "What"),
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
    ("account_role", "角色", "Role"),
    ("resident", "住户", "Resident"),
    ("visitor", "访客", "Visitor"),
    ("staff", "工作人员", "Staff"),
    ("delivery", "快递外卖", "Delivery"),
    ("duty", "值班志愿者", "Volunteer on duty"),
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
    ("pass_kind", "类型", "Kind"),
    ("card_pass", "打印卡片", "Printed card"),
    ("phone_pass", "手机通行证", "Phone pass"),
    ("phone_bound", "已绑定手机", "set up on a phone"),
    ("phone_unbound", "尚未绑定手机", "not set up yet"),
    ("phone_pass_choice", "手机通行证：二维码每 10 秒更新，截图无效", "Phone pass: its code changes every 10 s, so a screenshot does not work"),
    ("phone_roles", "以下身份只发手机通行证（无智能手机的居民请勿勾选其身份）：", "These roles get phone passes only (leave a role unchecked while some of its holders have no smartphone):"),
    ("phone_setup_hint", "手机通行证：请持证人用手机扫描此码完成设置。设置后只在这部手机上有效，此码本身不能开门。", "Phone pass: the holder scans this code with their phone to set it up. It then works on that phone only; this code itself opens no gate."),
    ("phone_live_hint", "在门岗摄像头前出示此实时通行码。它每 10 秒更新一次，截图无法开门。", "Show this live code to the gate camera. It changes every 10 seconds; a screenshot will not open the gate."),
    ("phone_live", "实时通行码 · 每 10 秒更新", "Live code · changes every 10 s"),
    ("phone_setting_up", "正在为这部手机设置通行证……", "Setting up the pass on this phone…"),
    ("phone_other", "此通行证已在另一部手机上设置。如换了手机，请联系居委会重新办理手机通行证。", "This pass is already set up on another phone. If you changed phones, ask the committee for a new phone pass."),
    ("phone_no_crypto", "此浏览器无法保存通行证密钥。请用最新版浏览器打开此链接，或请居委会打印卡片。", "This browser cannot keep the pass's key. Open the link in a current browser, or ask the committee for a printed card."),
    ("phone_bad_key", "手机发送的密钥无效。", "The key sent by the phone is not valid."),
    ("phone_not_phone", "这是打印卡片，不是手机通行证。", "This is a printed card, not a phone pass."),
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
    ("acknowledge", "确认", "Acknowledge"),
    ("count", "次数", "Count"),
    ("detail", "详情", "Detail"),
    ("last_seen", "最后在线", "Last seen"),
    ("queue", "待上传", "Queue"),
    ("clock_skew", "时钟偏差", "Clock skew"),
    ("time_server", "已按服务器校准", "Set by the server"),
    ("time_ntp", "网络校时，服务器未确认", "Set by NTP, not yet confirmed"),
    ("time_uncertain", "时间未确认", "Time unconfirmed"),
    ("time_corrected", "上次校准", "Last set"),
    ("health", "设备状态", "Health"),
    ("never", "从未", "never"),
    ("new_token", "新门岗登记码", "New enrollment token"),
    ("token_hint", "在门岗设备上运行：", "Run on the gate kiosk:"),
    ("screen_enroll", "登记屏幕上显示登记码的新终端", "Enroll a kiosk that shows a code on its screen"),
    (
        "screen_enroll_hint",
        "新终端开机后，屏幕上显示登记码和二维码：用手机扫码，或在这里输入登记码。",
        "A new kiosk shows a code and a QR code on its screen: scan it with your phone, or type the code here."
    ),
    ("screen_code", "屏幕上的登记码", "The code on its screen"),
    ("screen_enroll_next", "下一步", "Next"),
    ("screen_enroll_check", "请核对终端屏幕上的指纹是否为：", "Check that the kiosk's screen shows this fingerprint:"),
    ("screen_enroll_confirm", "登记为本小区的门岗", "Enroll it as a gate of this compound"),
    (
        "screen_enroll_unknown",
        "没有这个登记码，或已过期：请输入终端屏幕上现在显示的登记码。",
        "No such code, or it has expired: type the code the kiosk shows now."
    ),
    (
        "screen_enroll_other",
        "二维码里的指纹与这个登记码不符：它属于另一台终端。请重新扫码。",
        "The fingerprint in the QR code does not match this code: it belongs to another kiosk. Scan again."
    ),
    (
        "screen_enroll_done",
        "已登记。终端几秒钟内自动完成登记，屏幕上会显示门岗名称。",
        "Done. The kiosk finishes enrolling within seconds and shows the gate's name."
    ),
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
    ("server_error", "服务器出错", "Server error"),
    ("server_error_text", "服务器出错，已记入日志。请稍后再试；如果一直出错，请联系区里的技术人员。", "The server failed and logged why. Try again in a while; if it keeps failing, tell the district's IT staff."),
    ("pass_not_valid", "此通行证已失效", "This pass is no longer valid"),
    ("no_rows", "暂无", "None yet"),
    ("all_units", "全部", "all"),
    ("saved", "已保存", "Saved"),
    ("corrected", "按设备时钟校正", "corrected from the kiosk's clock"),
    ("enrolled", "登记时间", "Enrolled"),
    ("device_revoked", "已停用", "Revoked"),
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
    ("roster", "值班排班", "Duty roster"),
    ("volunteers", "志愿者", "Volunteers"),
    ("volunteer", "志愿者", "Volunteer"),
    ("volunteer_hours", "志愿服务时长", "Volunteer hours"),
    ("week_before", "上一周", "Week before"),
    ("this_week", "本周", "This week"),
    ("week_after", "下一周", "Week after"),
    ("roster_print", "打印排班表", "Print the roster"),
    ("roster_print_hint", "用浏览器的“打印”贴在门岗。", "Print it with the browser's Print and put it up in the gatehouse."),
    ("roster_no_gates", "还没有门岗设备：先在“门岗”页登记门岗，再排班。", "No gates yet: enroll a gate's kiosk on the Gates page first, then make shifts."),
    ("mon", "周一", "Mon"),
    ("tue", "周二", "Tue"),
    ("wed", "周三", "Wed"),
    ("thu", "周四", "Thu"),
    ("fri", "周五", "Fri"),
    ("sat", "周六", "Sat"),
    ("sun", "周日", "Sun"),
    ("no_shift", "无班次", "No shift"),
    ("shift", "班次", "Shift"),
    ("shift_gap", "缺人", "Short by"),
    ("shift_from", "开始", "From"),
    ("shift_to", "结束", "To"),
    ("shift_needed", "需要人数", "People needed"),
    ("add_shift", "添加班次", "Add the shift"),
    ("delete_shift", "删除班次", "Delete the shift"),
    ("put_on_shift", "排入", "Put on the shift"),
    ("take_off_shift", "撤下", "Take off"),
    ("traffic_busiest", "近四周最忙时段：", "Busiest hours over the last four weeks:"),
    ("traffic_none", "近四周没有通行记录。", "No entries in the last four weeks."),
    ("traffic_a_day", "平均每天 {} 人次", "{} entries a day on average"),
    ("state", "状态", "State"),
    ("volunteer_pending", "待确认", "Waiting for confirmation"),
    ("volunteer_active", "已确认", "Confirmed"),
    ("volunteer_left", "已停止值班", "Stood down"),
    ("volunteer_renew", "换发值班码", "Renew the duty pass"),
    ("volunteer_pass_until", "有效期至 {}", "valid until {}"),
    ("volunteer_pass_expiring", "{} 到期，请换发", "expires on {}: renew it"),
    (
        "volunteers_expiring",
        "{} 位志愿者的值班码两周内到期：到期后无法在门岗签到，请在下表换发。",
        "{} volunteers' duty passes expire within two weeks: after that they cannot sign in at the gate. Renew them below."
    ),
    (
        "volunteer_own_expiring",
        "您的值班码将于 {} 到期，请联系居委会换发。",
        "Your duty pass expires on {}: ask the committee to renew it."
    ),
    ("volunteer_stand_down", "停止值班（值班码作废）", "Stand down (duty pass withdrawn)"),
    (
        "volunteer_left_page",
        "您已不再在本小区值班，值班码已作废。感谢您的付出，您的服务时长都已记录。",
        "You no longer serve at this compound's gates and your duty pass no longer works. Thank you: the hours you served stay on record."
    ),
    ("volunteer_add", "添加志愿者（立即确认并发值班码）", "Add a volunteer (confirmed, with a duty pass)"),
    ("volunteer_confirm", "确认并发值班码", "Confirm and issue the duty pass"),
    ("volunteer_new_link", "新的个人链接", "New personal link"),
    ("volunteer_link_new", "请把这个个人链接发给志愿者（只显示这一次，旧链接作废）：", "Send this personal link to the volunteer (shown this once; any older link stops working):"),
    ("volunteer_join_link", "志愿者报名链接", "Volunteers' sign-up link"),
    ("volunteer_join_hint", "发到居民群或贴出二维码；报名的人要由居委会确认后才有值班码。", "Share it in the residents' group or put up the QR code; people who sign up get a duty pass only once the committee confirms them."),
    ("volunteer_join_title", "报名做门岗志愿者", "Volunteer at the gate"),
    ("volunteer_join_intro", "填写姓名和手机号。居委会确认后，您会在个人页面看到值班码和可报名的班次。", "Give your name and phone number. Once the committee confirms you, your page shows your duty pass and the shifts you can sign up for."),
    ("volunteer_join", "报名", "Sign up"),
    ("volunteer_own_title", "我的值班", "My duty"),
    ("volunteer_wait", "已收到报名，等待居委会确认。", "Signed up: waiting for the committee to confirm you."),
    ("volunteer_keep_link", "请收藏本页链接：这是您的个人页面，以后从这里看值班码和班次。", "Bookmark this page: it is your own, where your duty pass and shifts will be."),
    ("volunteer_open_pass", "打开我的值班码", "Open my duty pass"),
    ("volunteer_my_shifts", "我的班次", "My shifts"),
    ("volunteer_open_shifts", "可报名的班次", "Shifts you can sign up for"),
    ("volunteer_sign_up", "报名这个班次", "Sign up for this shift"),
    ("hours", "小时", "hours"),
    ("hours_per_volunteer", "每位志愿者的时长", "Hours per volunteer"),
    ("hours_shifts", "班次", "Shifts"),
    ("shifts_served", "服务班次：", "Shifts served:"),
    ("hours_signed_in", "签到", "Signed in"),
    ("hours_no_show", "未到岗", "No-show"),
    ("hours_not_signed_out", "未签退：按排班结束时间计", "Not signed out: counted to the scheduled end"),
    ("hours_out_without_in", "有签退无签到：不计", "Signed out without signing in: not counted"),
    ("month", "月份", "Month"),
    ("export_csv", "导出 CSV", "Export CSV"),
    ("export_xlsx", "导出 Excel", "Export Excel"),
    ("certificate", "感谢信", "Certificate"),
    ("certificate_title", "感谢信", "Thank you"),
    ("certificate_text", "感谢您在疫情防控期间参加门岗志愿服务，累计服务时长", "for volunteering at the gate during the epidemic, serving in all"),
    ("certificate_print", "用浏览器的“打印”打印或保存为 PDF。", "Print it, or save it as a PDF, with the browser's Print."),
    ("err_month", "月份格式应为 2026-12", "A month is written like 2026-12"),
    ("err_no_shift", "没有这个班次", "There is no such shift"),
    ("err_shift_full", "这个班次人已排满", "This shift is full"),
    ("err_shift_gate", "没有这个门岗：请从列表中选择", "No such gate: choose one from the list"),
    ("err_shift_needed", "需要人数应在 1 到 20 之间", "People needed is 1 to 20"),
    ("err_shift_over", "这个班次已经结束", "This shift is over"),
    ("err_shift_started", "班次已开始，请联系居委会调整", "The shift has started: ask the committee to change it"),
    ("err_shift_times", "班次时间不对：填写日期、开始和结束时间，最长 12 小时", "The shift's times are not right: give a day, a start and an end, 12 hours at most"),
    ("err_too_many_pending", "等待确认的报名太多，请稍后再试或联系居委会", "Too many sign-ups are waiting for confirmation: try later or contact the committee"),
    ("err_volunteer_known", "这个手机号已经报名", "This phone number has signed up already"),
    ("err_volunteer_name", "请填写姓名", "Give a name"),
    ("err_volunteer_phone", "请填写有效的手机号", "Give a phone number"),
    ("err_volunteer_not_active", "这位志愿者还没有被确认", "This volunteer is not confirmed yet"),
    ("on_duty_now", "在岗志愿者", "On duty now"),
    ("nobody_on_duty", "无人签到", "Nobody signed in"),
    ("duty_pass", "值班码", "Duty pass"),
    ("since", "自", "since"),
    ("exit_not_checked", "出口未核验：仅有出门按钮，无法拦截隔离人员外出", "Exit not checked: an exit button only, quarantined residents cannot be stopped going out"),
    ("layout", "布局", "Layout"),
    ("account_locked", "密码错误次数过多，账户已暂时锁定", "Too many wrong passwords: the account is locked for a while"),
    ("needs_assistance", "需要协助（老人、残障）", "Needs assistance (elderly, disabled)"),
    ("unit_quarantined", "该房号正在居家隔离，暂不接待访客。请联系居委会。", "This unit is under home quarantine and cannot receive visitors; please contact the committee."),
    // The district's pages.
    ("district", "街道 / 区 总览", "District overview"),
    ("fleet", "门岗一览", "All gates"),
    ("fleet_up", "在线", "up"),
    ("fleet_down", "离线", "down"),
    ("fleet_since", "自", "since"),
    ("fleet_waiting", "条记录待上传", "entries waiting"),
    ("fleet_sort", "排序：", "Sort:"),
    ("fleet_sort_down", "离线在前", "down first"),
    ("fleet_clock", "时间", "clock"),
    ("fleet_link", "所有门岗一览（适合手机）", "All gates at a glance (for phones)"),
    ("updates", "软件更新", "Software updates"),
    ("update_none_yet", "还没有推送过更新。", "No update has been rolled out yet."),
    ("update_halt_why", "停止原因（选填）", "Why stop (optional)"),
    ("update_halt", "停止推送", "Stop the rollout"),
    ("update_releases", "已上传的版本", "Releases stored"),
    ("update_no_releases", "还没有上传版本。在服务器上运行：", "No release stored yet. On the server, run:"),
    ("update_start", "开始推送", "Start the rollout"),
    ("update_start_hint", "先更新每个小区的一个门岗；都正常后再更新一部分门岗，最后全部。任何一个门岗更新失败并退回旧版本，推送会自动停止。", "One gate of each compound first; once they are well, a share of the gates, then all. If any gate fails the update and goes back to the old version, the rollout stops by itself."),
    ("update_percent", "第二批门岗比例（%）", "Second stage: share of gates (%)"),
    ("update_rollout", "推送版本", "Rollout of"),
    ("update_halted", "已停止", "Stopped"),
    ("update_done", "已完成：所有门岗都已更新", "Done: every gate runs it"),
    ("update_running", "正在推送", "Rolling out"),
    ("update_gates_well", "个门岗正常", "gates well"),
    ("update_waiting_stage", "等待上一批", "waits for the stage before"),
    ("update_stage_one", "第一批：每个小区一个门岗", "Stage 1: one gate per compound"),
    ("update_stage_share", "第二批：每个小区", "Stage 2: of each compound's gates"),
    ("update_stage_all", "第三批：全部门岗", "Stage 3: every gate"),
    ("update_step_started", "开始推送", "started"),
    ("update_step_promoted", "上一批正常，进入下一批", "stage well, next stage"),
    ("update_step_done", "全部完成", "done"),
    ("update_step_halted", "停止", "stopped"),
    ("update_step_replaced", "被新的推送取代", "replaced by a newer rollout"),
    ("update_gates", "各门岗", "Gates"),
    ("update_gate_well", "已更新，自检通过", "updated, self-test passed"),
    ("update_not_packaged", "不能远程更新（不是安装包安装的）", "cannot be updated remotely (not installed from the package)"),
    ("update_waiting_quiet", "已下载，等门岗没人时安装", "downloaded, installs when nobody is at the gate:"),
    ("update_rolled_back", "更新失败，已退回旧版本：", "update failed, went back:"),
    ("update_refused", "拒绝安装", "refused"),
    ("update_no_release", "没有这个版本：请从列表中选择。", "No such release: choose one from the list."),
    ("update_bad_percent", "比例应在 1 到 100 之间。", "The share is 1 to 100."),
    ("update_no_rollout", "现在没有正在进行的推送。", "No rollout is under way."),
    ("update_bad_release", "这个版本的签名或文件不对。", "The release's signature or file is not right."),
    ("version", "版本", "version"),
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
    ("retention_policy", "通行记录保留 {} 天，访客姓名在通行证到期 {} 天后删除，返{city}人员的个人信息在隔离或监测期结束 {} 天后删除（存证日志只留加盐哈希）；每晚 3 点执行。", "Entries are kept {} days; a visitor's name is deleted {} days after their pass ended; a returnee's personal data {} days after their quarantine or self-monitoring ended (the evidence log keeps only a salted hash). Applied every night at 03:00."),
    ("returnee_days", "返{city}人员个人信息保留天数（期限结束后）", "Days to keep returnees' personal data (after their period)"),
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
    ("rules_and_documents", "地区规则与文书", "Region rules and documents"),
    ("poster", "登记海报", "Registration poster"),
    ("ending_within", "N 天内结束", "Ending within N days"),
    ("filter", "筛选", "Filter"),
    ("period_until", "期限", "Period"),
    ("self_monitoring", "自我健康监测", "Self-monitoring"),
    ("returnees_pledge", "返{city}登记（承诺书）", "Returnees registered (pledge)"),
    ("returnees_notice", "返{city}登记（告知书，居家隔离）", "Returnees registered (notice, home quarantine)"),
    ("sensors", "门磁", "Door sensors"),
    ("sensor", "门磁名称", "Sensor"),
    ("door", "门", "Door"),
    ("door_open", "开", "Open"),
    ("door_closed", "关", "Closed"),
    ("unknown", "未知", "Unknown"),
    ("battery", "电量", "Battery"),
    ("link_quality", "信号", "Link quality"),
    ("pair", "配对", "Pair"),
    ("pair_help", "填写 zigbee2mqtt 中门磁的名称（friendly name）和所在房号。", "The sensor's zigbee2mqtt friendly name, and the unit whose door it is on."),
    ("delivery_windows", "配送时段", "Delivery windows"),
    ("windows_help", "居家隔离户只在这些时段开门取物不报警，如 07:00-09:00, 17:00-19:00；留空则任何开门都报警。", "A quarantined home's door may open in these windows without an alert, e.g. 07:00-09:00, 17:00-19:00; empty: every opening alerts."),
    ("mqtt_off", "未连接门磁消息服务器（启动时加 --mqtt mqtt://主机:1883）。", "No door sensors' broker (start the server with --mqtt mqtt://host:1883)."),
    ("mqtt_broker", "消息服务器", "Broker"),
    ("connected", "已连接", "connected"),
    ("not_connected", "未连接", "not connected"),
    ("mqtt_received", "收到", "received"),
    ("mqtt_standing_by", "待命", "standing by"),
    ("mqtt_standby_help", "另一个服务器进程正在接收门磁消息；它停止时，本进程立即接替，消息不丢、不乱序。", "Another server process is receiving the door sensors' messages; if it stops, this one takes over at once, with nothing lost or out of order."),
    ("mqtt_stored", "已记录", "kept"),
    ("mqtt_dropped", "丢弃", "dropped"),
    ("mqtt_not_json", "非 JSON", "not JSON"),
    ("mqtt_too_big", "过大", "too large"),
    ("mqtt_unknown", "未配对门磁", "unknown sensors"),
    ("mqtt_flood", "过于频繁", "floods"),
    ("mqtt_resets", "次会话重置", "session resets"),
    ("heard_sensors", "刚收到信号、尚未配对的门磁", "Sensors heard but not paired"),
    ("heard_help", "装好门磁后按一下它的按钮或开关一次门，它就会出现在这里；填上房号即可配对。", "Press a new sensor's button or open the door once and it appears here: fill in the unit to pair it."),
    ("checkins", "健康打卡", "Check-ins"),
    ("checkin_help", "居家隔离和自我健康监测人员每天早晚打卡（早 9 点、晚 7 点前）；超时 2 小时未打卡的人出现在下方电话回访名单中。", "Everyone under home quarantine or self-monitoring checks in morning and evening (by 09:00 and 19:00); two hours past, anyone missing is on the call list below."),
    ("call_list", "电话回访名单", "Call list"),
    ("morning", "早", "morning"),
    ("evening", "晚", "evening"),
    ("last_report", "最近一次", "Last report"),
    ("no_report", "尚无打卡", "no check-in yet"),
    ("symptoms", "有症状", "symptoms"),
    ("under_watch", "居家隔离与自我监测人员", "Under home quarantine or self-monitoring"),
    ("personal_link", "个人链接", "Personal link"),
    ("tasks", "服务需求", "Tasks"),
    ("request", "需求", "Request"),
    ("asked_at", "提出时间", "Asked"),
    ("task_open", "待处理", "Open"),
    ("task_taken", "志愿者已接单", "A volunteer is on it"),
    ("task_taken_by", "已接单：", "Taken by"),
    ("task_done", "已完成", "Done"),
    ("take_task", "接单", "Take"),
    ("mark_done", "完成", "Done"),
    ("request_groceries", "代购生活物资", "Groceries"),
    ("request_medicine", "代购药品", "Medicine"),
    ("request_rubbish", "垃圾清运", "Rubbish collection"),
    ("request_medical", "就医帮助", "Medical help"),
    ("request_bad_kind", "请从列表中选择需求。", "Choose a request from the list."),
    ("request_too_many", "您已有 5 个未完成的需求，请等志愿者处理后再提。", "You have 5 open requests already; wait for a volunteer to handle them."),
    ("request_thanks", "需求已提交，志愿者会尽快处理。", "Your request is in; a volunteer will see to it."),
    ("home_page", "居家健康打卡", "Home check-in"),
    ("checkin_temperature", "现在的体温（℃）", "Your temperature now (°C)"),
    ("checkin_fine", "无不适，提交", "I feel fine: send"),
    ("checkin_unwell", "有症状，提交", "I have symptoms: send"),
    ("checkin_bad_temperature", "请填写 34–43 之间的体温，如 36.5。", "Write a temperature from 34 to 43, e.g. 36.5."),
    ("checkin_thanks", "打卡成功，谢谢。", "Checked in, thank you."),
    ("committee_told", "居委会已收到提醒，会尽快联系您。", "The committee has been told and will call you soon."),
    ("ask_for_help", "需要帮助？", "Need something?"),
    ("link_not_valid", "链接无效或已过期", "This link is not valid now"),
    ("link_not_valid_help", "隔离或监测期结束后链接失效。如有疑问请联系居委会。", "A link ends with the quarantine or self-monitoring period. Call the committee with any question."),
    ("reg_checkin_link", "每天早晚健康打卡、提出代购等需求：", "Check in morning and evening, and ask for groceries or help, here:"),
    ("yes", "是", "Yes"),
    ("no", "否", "No"),
    ("province", "省份", "Province"),
    ("city", "城市", "City"),
    ("district_level", "区县", "District"),
    ("travel", "交通方式", "Travel mode"),
    ("travel_train", "火车", "Train"),
    ("travel_plane", "飞机", "Plane"),
    ("travel_car", "自驾", "Car"),
    ("travel_coach", "长途汽车", "Coach"),
    ("travel_ship", "轮船", "Ship"),
    ("travel_other", "其他", "Other"),
    ("reg_title", "返{city}人员登记", "Returnee registration"),
    ("reg_intro", "请如实填写，然后阅读并签署适用于您出发地的承诺书或告知书。", "Fill in the form truthfully, then read and sign the pledge or notice that applies to where you came from."),
    ("reg_needs_script", "此页面需要启用 JavaScript（选择地区与手写签名）。", "This page needs JavaScript (to pick the region and sign with a finger)."),
    ("reg_unit", "房号（或探访的房号）", "Unit (or the unit you visit)"),
    ("reg_origin", "出发地", "Where you came from"),
    ("reg_temperature", "当前体温（℃，可不填）", "Temperature now (°C, optional)"),
    ("reg_symptoms", "有无发热、咳嗽等症状？", "Any fever, cough or other symptoms?"),
    ("reg_contact", "14 天内有无与确诊或疑似病例接触？", "Any contact with a confirmed or suspected case in the last 14 days?"),
    ("reg_read_document", "下一步：阅读并签署", "Next: read and sign"),
    ("reg_sign_here", "请在下方用手指签名：", "Sign below with your finger:"),
    ("reg_clear", "重签", "Clear"),
    ("reg_typed_name", "请输入您的姓名以确认", "Type your name to confirm"),
    ("reg_confirm", "我已阅读并同意以上内容", "I have read and agree to the above"),
    ("reg_sign", "签署并提交", "Sign and submit"),
    ("reg_receipt", "登记回执", "Registration receipt"),
    ("reg_code", "回执码", "Receipt code"),
    ("reg_quarantine_until", "居家隔离至", "Home quarantine until"),
    ("reg_monitoring_until", "自我健康监测至", "Self-monitoring until"),
    ("reg_signed_doc", "已签署", "Signed"),
    ("reg_signed_at", "签署时间", "signed at"),
    ("reg_proof", "存证：您的登记已存入公开的存证记录，任何人都可以核对它没有被改动；存证里不含您的个人信息。", "Evidence: your registration is in a public evidence record that anyone can check has not been changed; it holds nothing personal."),
    ("reg_record", "存证序号", "Log record"),
    ("reg_record_of", "第 {} 条，共 {} 条", "Record {} of {}"),
    ("reg_technical", "供核验人员查看的技术信息", "Technical details for whoever checks it"),
    ("reg_log", "日志", "log"),
    ("reg_root", "树根", "Root"),
    ("reg_checkin_open", "打开打卡页面", "Open the check-in page"),
    ("reg_download", "下载回执文件", "Download the receipt file"),
    ("reg_verify_link", "验证回执", "Verify a receipt"),
    ("log_fingerprint", "存证日志公钥指纹：", "Evidence log key fingerprint:"),
    ("witnesses_title", "存证见证方", "Witnesses of the evidence log"),
    ("witness", "见证方", "Witness"),
    ("witness_required", "必须联署", "must cosign"),
    ("witness_cosigned_to", "已联署到", "Cosigned up to"),
    ("witness_problem", "问题", "Problem"),
    ("witness_fingerprint", "见证方公钥指纹：", "Witness key fingerprint:"),
    ("reg_cosigned", "这份存证已由 {} 个独立见证方核对并联署：大家看到的是同一份记录。", "{} independent witnesses checked and cosigned this record's checkpoint: everyone is shown the same records."),
    ("reg_cosign_pending", "存证正在等待独立见证方联署，通常一分钟内完成。完成后请刷新本页，再下载回执文件。", "The record waits for the independent witnesses' cosignatures, usually within a minute. Then reload this page and download the receipt file again."),
    ("log_fingerprint_help", "与门岗海报或街道页面上的指纹一致，才是同一本存证日志。", "It must match the fingerprint on the poster at the gate or on the street office's page: then it is the same log."),
    ("reg_qr_shows", "此二维码只证明您已登记（存证日志中的编号），不含您的个人信息，可出示给门岗。", "This QR code only proves that you registered (your record's number in the evidence log); it holds nothing personal, and you may show it at the gate."),
    ("verify_leaf_ok", "已登记：存证日志中有这条记录（第 {} 条，日志现有 {} 条）。", "Registered: the evidence log holds this record (number {}; the log holds {})."),
    ("verify_leaf_missing", "存证日志中没有这条记录：二维码有误，或记录已不在日志中。", "The evidence log does not hold this record: the QR code is wrong, or the record is no longer in the log."),
    ("reg_keep", "请保存回执文件：个人信息到期删除后，凭它仍可证明您签署过的内容。", "Keep the receipt file: after your personal data is deleted, it still proves what you signed."),
    ("reg_not_in_log", "此登记的记录不在存证日志中（日志现有 {} 条记录）：日志可能是从较早的备份恢复的。请联系居委会；居委会已收到提醒。", "This registration's record is not in the evidence log (the log holds {} records): the log may have been restored from an older backup. Please contact the committee; it has been alerted."),
    ("reg_deleted", "此登记的个人信息已按保存期限删除；存证日志中的记录仍在。删除时间：", "The personal data of this registration was deleted as the retention period ended; its record stays in the evidence log. Deleted:"),
    ("reg_bad_name", "姓名：请填写 1–32 个字，不含符号 < > \" ' & 或控制字符。", "Name: 1 to 32 characters, without < > \" ' & or control characters."),
    ("reg_bad_phone", "电话：请填写 7–15 位数字。", "Phone: 7 to 15 digits."),
    ("reg_bad_unit", "房号：本小区没有这个房号，请按门牌填写，如 3-502。", "Unit: this compound has no such unit; write it as on the door, e.g. 3-502."),
    ("reg_bad_origin", "出发地：请依次选择省份、城市和区县。", "Where you came from: choose a province, then a city, then a district."),
    ("reg_bad_arrival", "抵达日期：请选择 31 天内或未来 7 天内的日期。", "Arrival: a date within the last 31 days or the next 7."),
    ("reg_bad_travel", "交通方式：请从列表中选择。", "Travel mode: choose one from the list."),
    ("reg_bad_temperature", "体温：请填写 34–43 之间的数字，如 36.5，或不填。", "Temperature: a number from 34 to 43, e.g. 36.5, or leave it empty."),
    ("reg_bad_yes_no", "请回答症状和接触史两个问题。", "Answer both questions, symptoms and contact."),
    ("reg_no_signature", "请在签名框内用手指签名。", "Sign in the box with your finger."),
    ("reg_signature_too_big", "签名数据过大，请点“重签”后简单签名。", "The signature is too large; clear it and sign again, simply."),
    ("reg_too_large", "提交的内容过大（超过 128 KiB），未保存任何内容。请重签后再提交。", "The form sent is too large (over 128 KiB); nothing was stored. Clear the signature and send again."),
    ("reg_name_mismatch", "确认姓名须与表单中的姓名一致。", "The typed name must be the name given in the form."),
    ("reg_not_confirmed", "请勾选“我已阅读并同意”。", "Tick \"I have read and agree\"."),
    ("reg_form_expired", "表单已过期或无效，请重新填写（表单 2 小时内有效）。", "The form has expired or is not valid; fill it in again (a form is valid for 2 hours)."),
    ("reg_replayed", "这份表单已经提交过，未重复保存。请查看您已收到的回执。", "This form was already submitted; nothing was stored again. See the receipt you received."),
    ("reg_document_changed", "适用的文件刚刚更新，请重新阅读后签署。", "The document that applies has just changed; read it again and sign."),
    ("reg_no_rule", "居委会尚未为您的出发地设置规则，请联系居委会。", "The committee has no rule for where you came from yet; please call the committee."),
    ("reg_too_many", "这个手机号或这个网络今天的登记次数已达上限，请联系居委会。", "This phone number or this network has reached today's limit of registrations; please call the committee."),
    ("verify_title", "验证回执", "Verify a receipt"),
    ("verify_upload", "选择回执文件（receipt-….json）", "Choose the receipt file (receipt-….json)"),
    ("verify_nothing", "请选择回执文件，或粘贴回执内容。", "Choose the receipt file, or paste the receipt."),
    ("verify_unreadable_upload", "无法读取上传的内容：请选择回执页下载的 .json 文件，或粘贴其内容。", "The upload could not be read: choose the .json file the receipt page downloaded, or paste its text."),
    ("verify_intro", "选择或粘贴回执文件，或输入回执码：核对记录哈希、包含证明、检查点签名与见证方联署，无需登录。", "Choose or paste the receipt file, or type its code: the record's hash, its inclusion proof, the checkpoint's signature and its witnesses' cosignatures are checked. No login."),
    ("verify_code", "或输入回执上的 8 位回执码", "Or type the 8-character code on the receipt"),
    ("verify_code_length", "回执码是 8 位字母和数字，请核对后重新输入。", "A receipt code has 8 letters and digits; check it and type it again."),
    ("verify_code_unknown", "本服务器没有这个回执码的登记，请核对回执码，或用回执文件核验。", "This server has no registration with that code; check the code, or use the receipt file."),
    ("verify_code_deleted", "这条登记的个人信息已按保存期限删除，存证日志只保留其哈希，无法再按回执码核验；请用当时下载的回执文件核验。", "This registration's personal record was deleted after its retention period; the log keeps only its hash. Check it with the receipt file you downloaded."),
    ("verify_paste", "回执（JSON）", "Receipt (JSON)"),
    ("verify_button", "验证", "Verify"),
    ("verify_ok", "验证通过：", "Verified: "),
    ("verify_unreadable", "无法读取回执，请把回执整段复制进来（包括最后的空行）。", "The receipt cannot be read: paste it whole, with its last empty line."),
    ("verify_bad_signature", "存证签名不符：回执被改动过，或不是本服务器的记录。", "The log's signature does not match: the receipt was changed, or it is not this server's."),
    ("verify_unknown_log", "本服务器没有回执所说的存证记录。", "This server keeps no log the receipt names."),
    ("verify_cosigned_by", "以下独立见证方已核对并联署这份存证检查点，证明大家看到的是同一份记录：", "These independent witnesses checked and cosigned the log's checkpoint, so everyone is shown the same records:"),
    ("verify_no_witnesses", "本社区未设见证方：这份检查点只有居委会服务器自己的签名。", "This community has no witnesses: the checkpoint carries only the committee server's own signature."),
    ("verify_not_witnessed", "这份存证检查点还没有得到足够的独立见证方联署：不能证明所有人看到的是同一份记录。请稍后再查；若一直如此，请联系街道。", "The log's checkpoint is not cosigned by enough independent witnesses: nothing shows everyone is shown the same records. Check again later; if it stays so, tell the street office."),
    ("verify_not_included", "登记内容与存证不符：登记记录被改动过。", "The record does not match the log: it was changed."),
    ("verify_rewritten", "本回执与存证日志现在的内容不一致：日志可能在出具回执后被改写或丢失了记录。请保留回执，并告知居委会或街道。", "This receipt does not match the evidence log as it is now: the log may have been rewritten, or lost records, since the receipt was given. Keep the receipt, and tell the committee or the street office."),
    ("rec_symptoms", "有无症状", "Symptoms"),
    ("rec_contact", "有无接触史", "Contact with a case"),
    ("rec_signed_name", "签名确认的姓名", "Name typed to sign"),
    ("place", "小区名称与城市", "Compound name and city"),
    ("reset_password", "重置密码", "Reset password"),
    ("reset_link", "请把这个一次性链接发给本人（72 小时内有效）。打开后设置新密码，原来的密码随即失效，所有已登录的设备都会退出：", "Send this one-time link to the person (valid 72 hours). They set a new password there; the old one stops working and every browser logged in to the account is logged out:"),
    ("open_invites", "未使用的邀请和重置链接", "Invitations and reset links not used yet"),
    ("no_open_invites", "没有未使用的链接。", "No links waiting."),
    ("reset_for", "重置密码：", "Password reset for"),
    ("invite_as", "邀请加入，角色：", "Invitation as"),
    ("withdraw", "撤回", "Withdraw"),
    ("reset_title", "设置新密码", "Set a new password"),
    ("reset_intro", "为账号 {} 设置新密码。两步验证保持不变。", "A new password for account {}. Two-step login stays as it was."),
    ("password_change", "修改密码", "Change password"),
    ("my_account", "我的账号", "My account"),
    ("my_requests", "我的求助", "My requests"),
    ("helper", "志愿者", "Volunteer"),
    ("call_outcome", "电话联系结果", "Call"),
    ("call_fine", "已接通，情况正常", "Reached: all well"),
    ("call_unwell", "已接通，身体不适", "Reached: unwell"),
    ("call_no_answer", "未接通", "No answer"),
    ("call_visit", "需要上门查看", "Needs a visit"),
    ("call_wrong_number", "号码有误", "Wrong number"),
    ("call_choose", "结果：请选择", "What came of it?"),
    ("call_note", "备注（可不填）", "Note (optional)"),
    ("call_record", "记录", "Record"),
    ("print_card", "打印卡片", "Print card"),
    ("checkin_card", "健康打卡卡片", "Check-in card"),
    ("card_help", "每天早晚各一次：用手机扫码，报告体温和身体状况。需要买菜、买药或就医，也在这个页面提出。", "Every morning and evening: scan with your phone and report your temperature and how you feel. Ask for groceries, medicine or a doctor on the same page."),
    ("print_hint", "用浏览器的打印功能打印这张卡片，交给住户。", "Print this card with the browser's print and hand it to the home."),
    ("profile", "我的姓名和电话", "My name and phone"),
    ("profile_help", "接了居家隔离住户的求助后，住户会看到您的姓名和电话，方便联系。", "When you take a request from a home in quarantine, they see your name and phone, to reach you."),
    ("profile_saved", "已保存。", "Saved."),
    ("password_current", "当前密码", "Current password"),
    ("password_new", "新密码（至少 10 个字符）", "New password (at least 10 characters)"),
    ("password_wrong", "当前密码不对。", "The current password is not right."),
    ("password_changed", "密码已修改。其他设备上的登录已退出。", "Password changed. Other browsers logged in to this account were logged out."),
    ("err_date", "日期格式应为 2026-11-29。", "Dates look like 2026-11-29."),
    ("err_gate_name", "请填写门岗名称，例如“北门”。", "Name the gate, e.g. \"North gate\"."),
    ("err_doc_kind", "请选择承诺书或告知书。", "Choose a pledge or a notice."),
    ("err_pass_role", "请选择通行证类别。", "Choose the kind of pass."),
    ("err_pass_days", "有效天数须为 1 到 1825 之间的整数。", "Days valid: a whole number from 1 to 1825."),
    ("err_resident_id", "住户编号须为数字。", "The resident's number must be a number."),
    ("err_upload", "上传的文件没有收全，请重新选择文件再试。", "The upload did not arrive whole: choose the file again and retry."),
    ("first_steps", "开始使用前的几步", "First steps"),
    ("step_name", "填写小区名称和城市", "Set the compound's name and city"),
    ("step_residents", "导入住户名单", "Import the residents"),
    ("step_gate", "登记第一台门岗设备", "Enroll the first gate"),
    ("step_webhook", "设置警报推送到工作群", "Send alerts to the committee's group chat"),
    ("step_rules", "设置返{city}人员的地区规则", "Set the region rules for returnees"),
    ("place_name", "小区名称（显示在页面、通行卡、海报和验证器上）", "Compound name (on pages, cards, the poster and the authenticator)"),
    ("place_city", "城市简称（用于“返沪”“来沪”等字样；留空即“本市”）", "City's short name in Chinese (as in 返沪; empty: 本市)"),
    ("verify_failed", "验证失败", "Not verified"),
];

/// An alert kind in words: (中文, English). Exhaustive: a new kind does
/// not compile until it has words.
pub fn alert_words(kind: AlertKind) -> (&'static str, &'static str) {
    match kind {
        AlertKind::Fever => ("发热", "Fever"),
        AlertKind::QuarantineExit => ("隔离人员试图外出", "Quarantined resident tried to go out"),
        AlertKind::DoorForcedOpen => ("门被强行打开", "Door forced open"),
        AlertKind::DoorHeldOpen => ("门长时间未关", "Door held open"),
        AlertKind::RepeatedRefusals => ("同一通行证多次被拒", "Same pass refused again and again"),
        AlertKind::DeviceFault => ("设备故障超过一分钟", "Device fault for over a minute"),
        AlertKind::ListsTooOld => ("门岗名单过期", "Gate lists out of date"),
        AlertKind::KioskSilent => ("门岗设备超过10分钟未联网", "Gate kiosk silent for over 10 minutes"),
        AlertKind::Tamper => ("篡改", "Tampering"),
        AlertKind::SplitView => {
            ("存证日志分叉：不同门岗看到了不同的历史", "Evidence log split view: gates were shown different histories")
        }
        AlertKind::EvidenceDamaged => {
            ("存证日志自检发现被改动的记录或哈希", "The evidence log's check found a changed record or hash")
        }
        AlertKind::DoorSensorOpen => {
            ("居家隔离户门磁在非配送时段被打开", "A quarantined home's door opened outside the delivery windows")
        }
        AlertKind::SensorMaintenance => (
            "门磁需要维护：超过 2 小时无信号或电量低",
            "A door sensor needs a look: silent over 2 hours or low battery",
        ),
        AlertKind::CheckinFever => ("居家人员健康打卡报告发热或症状", "A check-in reports a fever or symptoms"),
        AlertKind::MedicalHelp => ("居家隔离户请求就医帮助", "A quarantined home asks for medical help"),
        AlertKind::SensorFlood => (
            "门磁一小时内开关过多：只保留状态，不再逐条记录",
            "A door sensor changed too often in an hour: its state is kept, not every change",
        ),
        AlertKind::SensorBroker => (
            "门磁消息服务器反复发送超大消息：已重置会话",
            "The door sensors' broker kept sending an oversized message: its session was reset",
        ),
        AlertKind::ReturneeNotice => {
            ("返{city}人员自报居家隔离，待居委会确认", "A returnee declared home quarantine: confirm it")
        }
        AlertKind::UnusualRegistrations => {
            ("同一户当天返{city}登记异常多", "Unusually many returnee registrations for one home today")
        }
        AlertKind::AccountLockout => ("账号因多次密码错误被锁定", "An account was locked after wrong passwords"),
        AlertKind::ClockOff => (
            "门岗自身时钟偏差超过5分钟（已按服务器时间判定）",
            "A kiosk's own clock is over 5 minutes off (it decides by the server's time)",
        ),
        AlertKind::TooManyAlerts => ("警报过多（已合并计数）", "Too many alerts (counted together)"),
        AlertKind::GateUnstaffed => (
            "排班已开始15分钟，门岗无人签到值班",
            "A shift is 15 minutes in and nobody has signed in for duty at the gate",
        ),
    }
}

/// An alert kind as stored, in words; a kind this server does not know is
/// shown as its code.
pub fn alert_text(lang: Lang, kind: &str) -> String {
    match AlertKind::parse(kind).map(alert_words) {
        Some((zh, en)) => pick(lang, zh, en).to_string(),
        None => kind.to_string(),
    }
}

/// A reason the kiosks record, in words for the committee: (中文,
/// English). Exhaustive: a new reason does not compile until it has words.
/// The kiosk's own words for the person at the gate are in
/// `ui/adapters.slint`, walked for every reason by the kiosk's UI test.
pub fn reason_words(r: Reason) -> (&'static str, &'static str) {
    match r {
        Reason::Ok => ("正常", "Normal"),
        Reason::Fever => ("体温异常", "Fever"),
        Reason::Passback => ("防回传：同方向重复通行", "Anti-passback: same way twice"),
        Reason::PassbackOverride => ("值班人员放行（防回传）", "Let through by the guard (anti-passback)"),
        Reason::QuarantineNoExit => ("居家隔离者试图外出", "Home quarantine: tried to go out"),
        Reason::QuarantineReturn => ("居家隔离者回家", "Home quarantine: came home"),
        Reason::QuarantineUnconfirmed => {
            ("自报居家隔离（未确认）者外出", "Self-declared home quarantine (unconfirmed): went out")
        }
        Reason::Expired => ("通行证已过期", "Pass expired"),
        Reason::NotYetValid => ("通行证尚未生效", "Pass not valid yet"),
        Reason::CodeExpired => ("手机通行码已过时（截图或照片）", "Phone code out of date (a screenshot or photo)"),
        Reason::Revoked => ("通行证已被注销", "Pass withdrawn"),
        Reason::BadSignature => ("伪造的通行证（签名不符）", "Forged pass (bad signature)"),
        Reason::UnknownKey => ("其他小区的通行证", "Pass of another community"),
        Reason::UnknownIssuer => ("其他小区的通行证", "Pass of another community"),
        Reason::NotAPass => ("不是通行证二维码", "Not a pass"),
        Reason::BadClaims => ("不是通行证二维码", "Not a pass"),
        Reason::AllowedWithoutTemperature => {
            ("测温仪故障，未测体温", "No temperature taken (thermometer out of order)")
        }
        Reason::ThermometerFault => ("测温仪故障", "Thermometer out of order"),
        Reason::MeasureTimeout => ("未测到体温", "No temperature taken"),
        Reason::ListsTooOld => ("门岗名单过期", "Kiosk's lists out of date"),
        Reason::DutyStart => ("志愿者签到上岗", "Volunteer signed in for duty"),
        Reason::DutyEnd => ("志愿者签退", "Volunteer signed out of duty"),
        Reason::ConsoleOpened => ("打开值班控制台", "Opened the guard console"),
        Reason::AlarmAcknowledged => ("确认告警", "Acknowledged an alarm"),
        Reason::SettingChanged => ("更改门岗设置", "Changed a gate setting"),
        Reason::ManualOpen => ("值班人员开门", "Opened by the guard"),
        Reason::ExitButton => ("出门按钮", "Exit button"),
        Reason::StoreFault => ("记录无法保存", "Entry could not be recorded"),
        Reason::TimeUncertain => ("门岗时间未确认，交值班人员核对", "Kiosk's time unconfirmed: left to the guard"),
        Reason::DoorForcedOpen => ("门被强行打开", "Door forced open"),
        Reason::DoorHeldOpen => ("门长时间未关", "Door held open"),
        Reason::RepeatedRefusals => ("同一通行证多次被拒", "Same pass refused again and again"),
        Reason::DeviceFault => ("设备故障超过一分钟", "Device fault for over a minute"),
    }
}

/// A reason code in words, as plain text.
pub fn reason_text(lang: Lang, code: &str) -> String {
    match Reason::parse(code).map(reason_words) {
        Some((zh, en)) => pick(lang, zh, en).to_string(),
        None => code.to_string(),
    }
}

fn pick(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// The words of `key` with each `{}` replaced by the next of `args`, in order.
pub fn tf(lang: Lang, key: &str, args: &[&dyn std::fmt::Display]) -> String {
    fill(t(lang, key), args)
}

/// An alert's detail ([`crate::leaves::detail`]) in the reader's words,
/// times in the display zone; an older row's plain text as it is.
pub fn detail_text(lang: Lang, stored: &str, utc_offset_min: i32) -> String {
    use crate::leaves::detail::{Arg, Detail};
    let Some(d) = Detail::decode(stored) else { return stored.to_string() };
    let args: Vec<String> = d
        .args
        .iter()
        .map(|a| match a {
            Arg::Text(s) if s.is_empty() => "—".to_string(),
            Arg::Text(s) => s.clone(),
            Arg::Time(ms) => crate::leaves::time::fmt_ms(*ms, utc_offset_min).get(5..16).unwrap_or("?").to_string(),
            // The last 8 hex digits: enough to find the pass on its page.
            Arg::Pass(hex) => hex.chars().skip(hex.chars().count().saturating_sub(8)).collect(),
            Arg::Word(key) => match WORDS.iter().find(|w| w.0 == key) {
                Some(&(_, zh, en)) => pick(lang, zh, en).to_string(),
                None => key.clone(),
            },
        })
        .collect();
    match DETAILS.iter().find(|w| w.0 == d.key) {
        Some(&(_, zh, en)) => {
            let text = pick(lang, zh, en);
            // A list: more arguments than holes go together in the last.
            let holes = text.matches("{}").count();
            let mut args = args;
            if holes > 0 && args.len() > holes {
                let rest = args.split_off(holes - 1).join(pick(lang, "、", ", "));
                args.push(rest);
            }
            let shown: Vec<&dyn std::fmt::Display> = args.iter().map(|a| a as &dyn std::fmt::Display).collect();
            fill(text, &shown)
        }
        // A detail from a newer server: its arguments, at least.
        None => args.join(" · "),
    }
}

/// Who an alert is about, when it is not a gate: a unit, a door sensor,
/// an account, the sensors' broker, in the reader's words.
pub fn device_text(lang: Lang, device: &str) -> String {
    for (prefix, key) in [("unit ", "unit"), ("sensor ", "who_sensor"), ("account ", "who_account")] {
        if let Some(rest) = device.strip_prefix(prefix) {
            return format!("{} {rest}", t(lang, key));
        }
    }
    if device == "mqtt" {
        return t(lang, "who_broker").to_string();
    }
    device.to_string()
}

/// Alert details: (key, 中文, English), each `{}` an argument in order.
/// A time argument reads as `MM-DD HH:MM`.
const DETAILS: &[(&str, &str, &str)] = &[
    ("alarm", "{} 门岗报警", "{} alarm at the gate"),
    ("alarm_note", "门岗报告：{}（{}）", "The kiosk reports: {} ({})"),
    ("gate_fever", "{} 住户体温异常（通行证 {}），{}，{}", "Unit {}: fever (pass {}), {}, {}"),
    ("gate_fever_no_pass", "未识别通行证的人员体温异常，{}，{}", "Someone without a pass read had a fever, {}, {}"),
    ("gate_quarantine_exit", "居家隔离中的 {} 住户试图外出（通行证 {}），{}", "Unit {} is under home quarantine and tried to go out (pass {}), {}"),
    ("checkin_fever", "{} 住户在线报告体温 {} °C", "Unit {} reports {} °C online"),
    ("checkin_fever_symptoms", "{} 住户在线报告体温 {} °C，并有症状", "Unit {} reports {} °C online, with symptoms"),
    ("medical_help", "{} 住户请求就医协助：{}", "Unit {} asks for medical help: {}"),
    ("returnee_notice", "{} 登记了居家隔离告知书 {}（{} 第 {} 版，{} 天），请在返{city}人员页面确认", "Unit {}: notice {} ({} v{}, {} days); confirm it on the Returnees page"),
    ("unusual_registrations", "{} 一天内的登记超过 {} 次（{}），请核实", "Unit {}: more than {} registrations in a day ({}); please check"),
    ("sensor_flood", "{} 的门磁一小时内开关超过 {} 次，之后的记录未保存，请检查门磁", "Unit {}: more than {} door changes in an hour; the rest are not kept. Check the sensor"),
    ("door_open", "居家隔离中的 {} 在 {} 开门。联系人：{}", "Unit {} under home quarantine: the door opened at {}. Contact: {}"),
    ("sensor_battery", "{} 的门磁电量只剩 {}%，请更换电池", "Unit {}: the door sensor's battery is at {}%; change it"),
    ("sensor_silent", "{} 的门磁自 {} 起没有消息，请检查", "Unit {}: the door sensor has been silent since {}; check it"),
    ("sensor_never", "{} 的门磁自 {} 配对后一直没有消息，请检查", "Unit {}: the door sensor has sent nothing since it was paired at {}; check it"),
    ("sensor_broker", "门磁消息服务器反复发送过大的消息（{} KiB，上限 {} KiB），连接已重置：请技术人员在门磁消息服务器（Mosquitto）上调大单条消息的大小上限", "The sensors' broker kept sending a message of {} KiB (over {} KiB); its session was reset. IT: set message_size_limit on the broker"),
    ("lockout_account", "账号 {} 被多个地址输错密码 {} 次，锁定至 {}", "Account {}: {} wrong passwords from several addresses; locked until {}"),
    ("lockout_address", "账号 {} 输错密码 {} 次（来自 {}），该地址锁定 15 分钟", "Account {}: {} wrong passwords from {}; that address is locked out for 15 minutes"),
    ("clock_behind", "门岗设备的时钟慢了 {} 分钟，现按服务器时间判断：请技术人员检查它的网络对时（NTP）", "The kiosk's own clock is {} min behind; it decides by the server's time. IT: check its NTP"),
    ("clock_ahead", "门岗设备的时钟快了 {} 分钟，现按服务器时间判断：请技术人员检查它的网络对时（NTP）", "The kiosk's own clock is {} min ahead; it decides by the server's time. IT: check its NTP"),
    ("kiosk_silent", "最后联系时间 {}：请检查门岗设备的电源和网络", "Last heard from at {}: check the kiosk's power and network"),
    ("tamper", "门岗记录校验不通过，请技术人员检查：{}", "The kiosk's records do not check out. IT: {}"),
    ("split_not_extending", "门岗收到的存证检查点与它已有的不连续，请技术人员检查：{}", "The gate was shown a checkpoint that does not extend its own. IT: {}"),
    ("witness_refused", "见证方 {} 拒绝联署 {} 条记录的检查点：它与该见证方已联署的 {} 条记录不连续，日志可能被改写。该检查点未公布，见证方保存了两份检查点作为证据", "Witness {} refused to cosign the checkpoint of {} records: it does not extend the {} records the witness cosigned, so the log may have been rewritten. The checkpoint is not published; the witness keeps both as evidence"),
    ("witness_ahead", "见证方 {} 已联署 {} 条记录，而日志只有 {} 条：日志可能丢失了记录或被改写", "Witness {} has cosigned {} records; the log has only {}: the log lost records or was rewritten"),
    ("split_longer", "门岗持有 {} 条记录的存证树，而服务器只有 {} 条", "The gate holds a tree of {} records; the log has only {}"),
    ("fsck_record", "第 {} 条记录：存储的内容或盐与其叶子不符（记录、盐或叶子被改动）", "Record {}: its stored record or salt does not match its leaf (the record, its salt or its leaf was changed)"),
    ("fsck_hash", "第 {} 层第 {} 个节点的哈希与记录算出的不符（被改动）", "The hash at level {}, node {} does not follow from the records (it was changed)"),
    ("fsck_root", "门岗 {} 持有的 {} 条记录的树根与日志不符", "Gate {} holds a root for {} records that the log does not have"),
    ("fsck_missing", "第 {} 条记录缺失", "Record {} is missing"),
    ("fsck_entry", "第 {} 条记录：公开的条目与其叶子不符（条目被改动）", "Record {}: its published entry does not match its leaf (the entry was changed)"),
    ("split_unknown_root", "门岗持有 {} 条记录的存证树，服务器没有这个树根", "The gate holds a tree of {} records whose root the log does not have"),
    // The audit trail's details.
    ("pass_issue", "通行证 {}：{}，{}，{} 天", "Pass {}: {} for {}, {} days"),
    ("pass_revoke", "通行证 {}", "Pass {}"),
    ("pass_phone_roles", "需要手机通行证的类别：{}", "Phone passes required for: {}"),
    ("request_declined", "申请 #{}：已拒绝", "Request #{}: declined"),
    ("request_approved", "申请 #{}：已发放通行证 {}", "Request #{}: pass {} issued"),
    ("pass_issue_building", "{} 号楼：发放 {} 张通行证", "Building {}: {} passes issued"),
    ("pass_bind_phone", "通行证 {} 已绑定手机（{} 密钥）", "Pass {} bound to a phone ({} key)"),
    ("gate_enroll_token", "门岗“{}”的登记码", "Enrollment code for gate {}"),
    ("gate_enroll_screen", "门岗“{}”（终端指纹 {}）", "Gate {} (kiosk fingerprint {})"),
    ("retention_prune", "删除了 {} 条通行记录、{} 位访客的姓名、{} 位返{city}人员的个人信息", "{} entries, {} visitors' names and {} returnees' personal fields deleted"),
    ("account_join", "以{}身份加入", "Joined as {}"),
    ("account_name", "账号 {}", "Account {}"),
    ("account_invite", "邀请：{}；门岗：{}", "Invitation as {}; gates: {}"),
    ("account_role", "{}：角色改为{}；门岗：{}", "{}: role {}; gates: {}"),
    ("returnee_register", "回执 {}，房号 {}，{} 第 {} 版，存证第 {} 条", "Receipt {}, unit {}, {} v{}, evidence record {}"),
    ("returnee_notice_decided", "房号 {}，居家隔离 #{}", "Unit {}, quarantine #{}"),
    ("visitor_register", "访客通行证 {}，到访 {}，经 {}", "Visitor pass {} for unit {} at {}"),
    ("gate_revoke", "门岗设备 {}", "Kiosk {}"),
    ("volunteer_detail", "志愿者 {}", "Volunteer {}"),
    ("shift_detail", "{}，{} 开始的班次", "Shift at {}, from {}"),
    ("shift_id_detail", "班次 {}", "Shift {}"),
    ("gate_unstaffed", "{}，{} 开始的班次：排了 {} 人，无人签到", "{}, the shift from {}: {} rostered, nobody signed in"),
    ("shift_person_detail", "班次 {}，志愿者 {}", "Shift {}, volunteer {}"),
    ("hours_export_detail", "{} 月的志愿服务时长", "Volunteer hours of {}"),
    ("entries_export", "{} 至 {}，事由：{}；门岗：{}", "{} to {}; reason: {}; gates: {}"),
    ("request_n", "申请 #{}", "Request #{}"),
    ("alert_ack", "警报 #{}：{}", "Alert #{}: {}"),
    ("webhook_off", "已关闭", "Off"),
    ("webhook_on", "{}（{}）", "{} ({})"),
    ("quarantine_add", "房号 {}，{} 至 {}", "Unit {}, {} to {}"),
    ("quarantine_n", "居家隔离 #{}", "Quarantine #{}"),
    ("key_next", "新密钥 {}", "Next key {}"),
    ("key_activate", "密钥 {} 开始签发新通行证", "Key {} signs new passes"),
    ("key_resign", "重签了 {} 张通行证", "{} passes re-signed"),
    ("key_retire", "密钥 {} 已停用", "Key {} retired"),
    ("retention_set", "通行记录保留 {} 天，访客 {} 天，返{city}人员 {} 天", "Entries {} days, visitors {} days, returnees {} days"),
    ("returnees_export", "{} 行；筛选：{}；事由：{}", "{} rows; filter: {}; reason: {}"),
    ("resident_add", "住户 #{}，房号 {}", "Resident #{}, unit {}"),
    ("resident_edit", "住户 #{}：房号 {}，户主：{}，吊销 {} 张通行证", "Resident #{}: unit {}, head: {}, {} passes revoked"),
    ("resident_move_out", "住户 #{}，吊销 {} 张通行证", "Resident #{}, {} passes revoked"),
    ("sensor_pair", "门磁 {} → 房号 {}", "Sensor {} → unit {}"),
    ("sensor_n", "门磁 {}", "Sensor {}"),
    ("sensor_windows", "配送时段：{}", "Delivery windows: {}"),
    ("resident_import", "导入 {} 位住户，跳过 {} 行", "{} residents added, {} rows skipped"),
    ("document_save", "{} 第 {} 版，{}，{} 天", "{} v{}, {}, {} days"),
    ("rule_add", "规则 #{}：{} → {}", "Rule #{}: {} → {}"),
    ("rule_n", "规则 #{}", "Rule #{}"),
    // What a form could not take (lower layers' errors).
    ("err_unit_long", "房号“{}”太长：最多 {} 个数字或字母（一个汉字算 3 个）。请写成 3-2-502（楼-单元-室）这样的格式；“3号楼2单元502室”这样的写法会自动转换。", "Unit \"{}\" is too long: at most {} digits or letters (a Chinese character counts as 3). Write it as 3-2-502 (building-entrance-room); \"3号楼2单元502室\" is converted by itself."),
    ("err_no_unit", "请填写房号，例如 3-502。", "A unit is needed, e.g. 3-502."),
    ("err_no_name", "没有姓名。", "No name."),
    ("err_place_name", "小区名称最多 30 个字，不能含有花括号。", "A compound's name has at most 30 characters, without braces."),
    ("err_place_city", "城市简称最多 8 个字，不能含有花括号。", "A city's name has at most 8 characters, without braces."),
    ("password_by_link", "用管理员发的重置链接设置了新密码", "New password set with an admin's reset link"),
    ("reset_withdrawn", "撤回了 {} 的重置密码链接", "Reset link for {} withdrawn"),
    ("invite_withdrawn", "撤回了一个{}邀请", "An invitation as {} withdrawn"),
    ("call_made", "{}：{}", "{}: {}"),
    ("place_set", "小区名称“{}”，城市“{}”", "Compound name \"{}\", city \"{}\""),
    ("err_import_large", "文件超过 {} MB，请按楼栋拆分后再导入。", "The file is larger than {} MB: split it by building."),
    ("err_import_unreadable", "无法读取这个表格（{}）。请另存为 .xlsx 或 .csv（UTF-8）后再试。", "The spreadsheet cannot be read ({}): save it as .xlsx or .csv (UTF-8) and try again."),
    ("err_import_header", "第一行须为列名：姓名、房号，可选电话、户主。", "The first row must name the columns: name (姓名) and unit (房号), optionally phone (电话) and head (户主)."),
    ("err_import_rows", "超过 {} 行，请按楼栋拆分后再导入。", "More than {} rows: split the file by building."),
    ("err_import_unpacked", "表格解压后超过 {} MB，请只保存住户那一页为 .xlsx 或 .csv 后再试。", "The spreadsheet unpacks to more than {} MB: save only the residents' sheet as .xlsx or .csv."),
    ("err_import_cell", "第 {} 行第 {} 列超过 {} 个字：姓名、房号和电话都不会这么长。", "Row {}, column {} holds more than {} characters: a name, unit or phone is short."),
    ("err_webhook_format", "请选择企业微信、钉钉或 JSON。", "Choose WeCom, DingTalk or JSON."),
    ("err_webhook_url", "推送地址须以 http:// 或 https:// 开头，最长 500 个字符，不能有空格。", "The address must start with http:// or https://, at most 500 characters, without spaces."),
    ("err_webhook_secret", "加签密钥太长（最长 200 个字符）。", "The signing secret is too long (at most 200 characters)."),
    ("err_retention", "通行记录可保留 {} 到 {} 天，访客姓名 {} 到 {} 天，返{city}人员个人信息在期限结束后 {} 到 {} 天。", "Entries are kept {} to {} days, visitors' names {} to {} days, returnees' personal data {} to {} days after their period."),
    ("err_profile_name", "姓名最多 20 个字。", "A name has at most 20 characters."),
    ("err_call_outcome", "请选择通话结果。", "Choose what came of the call."),
    ("err_call_many", "这一时段已记录了很多次通话。", "Many calls are recorded for this check-in already."),
    ("err_name_length", "姓名需为 1 到 64 个字。", "A name has 1 to 64 characters."),
    ("err_name_control", "姓名中有控制字符或文字方向字符，请重新输入。", "The name holds control or direction characters; type it again."),
    ("err_phone", "电话“{}”不是电话号码。", "Phone \"{}\" is not a phone number."),
    ("err_phone_long", "电话号码太长。", "The phone number is too long."),
    ("err_validity", "有效期须在 1 秒到 5 年之间。", "A pass is valid from 1 second to 5 years."),
    ("err_end_before_start", "结束日期须晚于开始日期。", "The end must come after the start."),
    ("err_note_long", "备注太长（最多 {} 个字）。", "The note is too long ({} characters at most)."),
    ("err_pass", "无法生成通行证：{}", "The pass could not be made: {}"),
    ("err_already_resident", "{}（{}）已是住户。", "{} of {} is already a resident."),
    ("acct_err_taken", "用户名“{}”已被使用，请换一个。", "The name \"{}\" is taken; choose another."),
    ("acct_err_name", "用户名为 2 到 40 个字母、数字或 . _ -。", "A name is 2 to 40 letters, digits, '.', '_' or '-'."),
    ("acct_err_weak", "密码至少 10 个字符。", "A password needs at least 10 characters."),
    ("acct_err_invite_gone", "此邀请链接已用过或已过期，请向管理员要一个新的。", "This invitation was used already or has expired; ask an admin for a new one."),
    ("acct_err_many_invites", "已有 {} 个邀请未使用，请等部分过期后再邀请。", "{} invitations are waiting to be used; let some expire first."),
    ("acct_err_not_found", "本社区没有这个账号。", "No such account in this community."),
    ("acct_err_own", "管理员不能在这里修改或停用自己的账号，请找另一位管理员。", "An admin cannot change or disable their own account here; ask another admin."),
    ("err_server", "服务器出错，请稍后再试。", "The server failed; try again later."),
    ("rule_err_division", "“{}”不是行政区划代码。请选择省、市或区县（例如 42 湖北省，4201 武汉市）。", "\"{}\" is not a division code. Pick a province, city or district (e.g. 42 Hubei, 4201 Wuhan)."),
    ("rule_err_document", "没有名为“{}”的文书，请先在下方新建。", "There is no document \"{}\"; create it below first."),
    ("rule_err_name", "文书名称需为 1 到 40 个字。", "A document needs a name of 1 to 40 characters."),
    ("rule_err_days", "期限需为 1 到 60 天。", "The period is from 1 to 60 days."),
    ("rule_err_text", "中文正文必填（或两种正文都留空以使用标准文本），每段正文最多 5000 字。", "The Chinese text is required (or leave both empty for the standard text); each text at most 5,000 characters."),
    ("rule_err_days_mismatch", "正文写的是 {} 天，而期限是 {} 天。请在正文中写 {days}，签署和回执就会显示同一个天数。", "The text says {} days but the period is {} days. Write {days} in the text so the signed text and the receipt show the same number."),
    ("rule_err_order", "规则的结束日期须晚于开始日期。", "A rule must end after it starts."),
    ("rule_err_many", "最多 500 条规则，请先删除过期的规则。", "500 rules at most; remove old ones first."),
    ("err_sensor_name", "门磁名称就是它在 zigbee2mqtt 中的名称（friendly name）：1 到 {} 个字节，不含 / + # 或尖括号，例如 door-3-502。", "A sensor's name is its zigbee2mqtt friendly name: 1 to {} bytes, no / + # or markup, e.g. door-3-502."),
    ("err_unit_unknown", "本小区没有房号“{}”，请先添加该户住户。", "Unit \"{}\" is not known here; add its residents first."),
    ("err_window", "“{}”：时段请写成 07:00-09:00。", "\"{}\": write a window as 07:00-09:00."),
    ("err_twice_in_file", "{}（{}）在文件中出现了两次。", "{} of {} appears twice in the file."),
    ("split_two_gates", "门岗 {} 与 {} 持有不同的 {} 条记录存证树", "Gates {} and {} hold different trees of {} records"),
];

fn fill(text: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::new();
    let mut rest = text;
    for a in args {
        let Some(at) = rest.find("{}") else { break };
        out.push_str(&rest[..at]);
        out.push_str(&a.to_string());
        rest = &rest[at + 2..];
    }
    // Fewer arguments than holes (an empty list): a dash, not "{}".
    out.push_str(&rest.replace("{}", "—"));
    out
}

/// An audit trail's action (`resident.add`) in words; an unknown one as it is.
pub fn action_text(lang: Lang, action: &str) -> String {
    match ACTIONS.iter().find(|a| a.0 == action) {
        Some(&(_, zh, en)) => pick(lang, zh, en).to_string(),
        None => action.to_string(),
    }
}

/// Who did it, when not an account: the public forms, a pass's link, the
/// server itself.
pub fn actor_text(lang: Lang, actor: &str) -> String {
    match ACTORS.iter().find(|a| a.0 == actor) {
        Some(&(_, zh, en)) => pick(lang, zh, en).to_string(),
        None => actor.to_string(),
    }
}

const ACTORS: &[(&str, &str, &str)] = &[
    ("returnee (public form)", "返{city}人员（公开登记表）", "Returnee (public form)"),
    ("visitor (public form)", "访客（公开登记表）", "Visitor (public form)"),
    ("phone (pass link)", "住户手机（通行证链接）", "Phone (pass link)"),
    ("household head (pass link)", "户主（通行证链接）", "Household head (pass link)"),
    ("server (retention)", "系统（按期删除）", "Server (retention)"),
];

/// The audit trail's actions: (action, 中文, English).
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("login", "登录", "Logged in"),
    ("account.disable", "停用账号", "Account disabled"),
    ("account.invite", "邀请新账号", "Account invited"),
    ("account.join", "接受邀请", "Invitation accepted"),
    ("account.role", "修改角色", "Role changed"),
    ("account.totp_off", "关闭两步验证", "Two-step login off"),
    ("account.totp_on", "开启两步验证", "Two-step login on"),
    ("account.unlock", "解除锁定", "Account unlocked"),
    ("alert.ack", "处理警报", "Alert acknowledged"),
    ("audit.export", "导出操作记录", "Audit trail exported"),
    ("document.save", "保存文书", "Document saved"),
    ("entries.export", "导出通行记录", "Entries exported"),
    ("gate.enroll_token", "生成门岗登记码", "Gate enrollment code made"),
    ("gate.enroll_screen", "按屏幕登记码登记门岗终端", "Kiosk enrolled by the code on its screen"),
    ("gate.revoke", "停用门岗设备", "Kiosk revoked"),
    ("volunteer.join", "志愿者报名", "Volunteer signed up"),
    ("volunteer.confirm", "确认志愿者并发值班码", "Volunteer confirmed, duty pass issued"),
    ("volunteer.renew", "换发志愿者值班码（旧码作废）", "Volunteer's duty pass renewed (the old one withdrawn)"),
    ("volunteer.stand_down", "志愿者停止值班，值班码作废", "Volunteer stood down, duty pass withdrawn"),
    ("volunteer.add", "添加志愿者并发值班码", "Volunteer added, duty pass issued"),
    ("volunteer.link", "重发志愿者个人链接", "Volunteer's personal link renewed"),
    ("shift.add", "添加班次", "Shift added"),
    ("shift.delete", "删除班次", "Shift deleted"),
    ("shift.join", "排入班次", "Put on a shift"),
    ("shift.leave", "撤下班次", "Taken off a shift"),
    ("hours.export", "导出志愿服务时长", "Volunteer hours exported"),
    ("key.activate", "启用新密钥", "New key signing"),
    ("key.next", "生成新密钥", "Next key made"),
    ("key.resign", "重签通行证", "Passes re-signed"),
    ("key.retire", "停用旧密钥", "Old key retired"),
    ("pass.bind_phone", "绑定手机通行证", "Phone pass bound"),
    ("pass.issue", "发放通行证", "Pass issued"),
    ("pass.issue_building", "按楼发放通行证", "Passes issued for a building"),
    ("pass.phone_roles", "设置手机通行证类别", "Phone pass roles set"),
    ("pass.revoke", "注销通行证", "Pass withdrawn"),
    ("quarantine.add", "添加居家隔离", "Home quarantine added"),
    ("quarantine.remove", "解除居家隔离", "Home quarantine removed"),
    ("request.approve", "批准通行证申请", "Pass request approved"),
    ("request.decline", "拒绝通行证申请", "Pass request declined"),
    ("resident.add", "添加住户", "Resident added"),
    ("resident.edit", "修改住户", "Resident changed"),
    ("resident.import", "导入住户", "Residents imported"),
    ("resident.move_out", "登记搬离", "Resident moved out"),
    ("retention.prune", "按期删除", "Old records deleted"),
    ("retention.set", "设置保存期限", "Retention set"),
    ("returnee.confirm_notice", "确认居家隔离告知", "Quarantine notice confirmed"),
    ("returnee.decline_notice", "驳回居家隔离告知", "Quarantine notice declined"),
    ("returnee.register", "返{city}人员登记", "Returnee registered"),
    ("returnees.export", "导出返{city}人员", "Returnees exported"),
    ("rule.add", "添加地区规则", "Region rule added"),
    ("rule.remove", "删除地区规则", "Region rule removed"),
    ("sensor.pair", "配对门磁", "Door sensor paired"),
    ("sensor.unpair", "移除门磁", "Door sensor removed"),
    ("sensor.windows", "设置配送时段", "Delivery windows set"),
    ("task.done", "完成任务", "Task done"),
    ("task.take", "接受任务", "Task taken"),
    ("visitor.register", "访客登记", "Visitor registered"),
    ("webhook.set", "设置警报推送", "Alert robot set"),
    ("place.set", "设置小区名称与城市", "Compound name and city set"),
    ("account.reset", "生成重置密码链接", "Password reset link made"),
    ("account.password", "修改密码", "Password changed"),
    ("invite.withdraw", "撤回邀请", "Invitation withdrawn"),
    ("call.record", "记录电话联系结果", "Call recorded"),
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

    /// Every key a page asks for by name is in the table: a missing one
    /// shows as "?" in a release build.
    #[test]
    fn every_word_a_page_names_exists() {
        let (mut missing, mut found) = (Vec::new(), 0);
        let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(dir) = dirs.pop() {
            for f in std::fs::read_dir(dir).unwrap().map(|f| f.unwrap().path()) {
                if f.is_dir() {
                    dirs.push(f);
                    continue;
                }
                let text = std::fs::read_to_string(&f).unwrap();
                for call in ["t(lang, \"", "t(Lang::Zh, \"", "t(Lang::En, \"", "tf(lang, \"", ".w(\""] {
                    for part in text.split(call).skip(1) {
                        let key = part.split('"').next().unwrap_or("");
                        let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                        found += usize::from(plain);
                        if plain && !super::WORDS.iter().any(|w| w.0 == key) {
                            missing.push(format!("{}: {key}", f.display()));
                        }
                    }
                }
            }
        }
        assert!(found > 300, "{found} keys named");
        assert!(missing.is_empty(), "{missing:#?}");
    }

    /// Every alert detail the server stores has words in both languages,
    /// with as many arguments in each.
    #[test]
    fn every_alert_and_audit_detail_is_worded_in_both_languages() {
        let holes = |s: &str| s.matches("{}").count();
        for (key, zh, en) in super::DETAILS {
            assert_eq!(holes(zh), holes(en), "{key}");
        }
        let mut used = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(dir) = dirs.pop() {
            for f in std::fs::read_dir(dir).unwrap().map(|f| f.unwrap().path()) {
                if f.is_dir() {
                    dirs.push(f);
                } else if f.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&f).unwrap();
                    for call in ["Detail::new(", "enc("] {
                        for part in text.split(call).skip(1) {
                            if let Some(key) = part.trim_start().strip_prefix('"').and_then(|k| k.split('"').next()) {
                                used.push(key.to_string());
                            }
                        }
                    }
                    // Every action the trail records has words.
                    let calls = ["audited", "record_in(", "record_action(", "record_as("];
                    for part in calls.iter().flat_map(|c| text.split(c).skip(1)) {
                        for action in part.split('"').skip(1).step_by(2).take(3) {
                            if action.contains('.')
                                && action.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                            {
                                assert!(
                                    super::ACTIONS.iter().any(|a| a.0 == action),
                                    "no words for audit action {action}"
                                );
                            }
                        }
                    }
                }
            }
        }
        // Keys chosen in a variable before `Detail::new(key, …)`.
        used.extend(["checkin_fever", "checkin_fever_symptoms", "clock_behind", "clock_ahead"].map(String::from));
        assert!(used.len() > 20, "{used:?}");
        // (This test's own text holds `Detail::new(` too: only keys count.)
        for key in used.iter().filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) {
            assert!(super::DETAILS.iter().any(|d| d.0 == key), "no words for alert detail {key}");
        }
        let shown =
            super::detail_text(super::Lang::Zh, "@gate_quarantine_exit|3-502|@p00aa11fe88a1b2|@t1700000000000", 480);
        assert_eq!(shown, "居家隔离中的 3-502 住户试图外出（通行证 fe88a1b2），11-15 06:13");
        assert_eq!(super::detail_text(super::Lang::En, "seq 23", 480), "seq 23", "an older row's text");
    }
}
