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
    ("accounts", "账号", "Accounts"),
    ("returnees", "返沪人员", "Returnees"),
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
    ("pledge", "承诺书（自我健康监测）", "Pledge (self-monitoring)"),
    ("notice", "告知书（居家隔离）", "Notice (home quarantine)"),
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
    ("change_role", "更改角色", "Change role"),
    ("totp_code", "动态验证码（已开启时填写）", "Authenticator code (if turned on)"),
    ("totp_title", "两步验证（TOTP）", "Two-step login (TOTP)"),
    ("totp_short", "两步验证", "Two-step login"),
    ("totp_on", "已开启两步验证。", "Two-step login is on."),
    ("totp_scan", "用身份验证器应用扫描此二维码，然后输入它显示的 6 位数字以开启：", "Scan this code with an authenticator app, then enter the 6 digits it shows to turn it on:"),
    ("totp_turn_on", "开启", "Turn on"),
    ("totp_turn_off", "关闭两步验证", "Turn two-step login off"),
    ("totp_wrong", "验证码不正确，请重试", "That code is not right; try again"),
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
    ("split_view", "存证日志分叉：不同门岗看到了不同的历史", "Evidence log split view: gates were shown different histories"),
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
    ("retention_policy", "通行记录保留 {} 天，访客姓名在通行证到期 {} 天后删除，返沪人员的个人信息在隔离或监测期结束 {} 天后删除（存证日志只留加盐哈希）；每晚 3 点执行。", "Entries are kept {} days; a visitor's name is deleted {} days after their pass ended; a returnee's personal data {} days after their quarantine or self-monitoring ended (the evidence log keeps only a salted hash). Applied every night at 03:00."),
    ("returnee_days", "返沪人员个人信息保留天数（期限结束后）", "Days to keep returnees' personal data (after their period)"),
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
    ("returnees_pledge", "返沪登记（承诺书）", "Returnees registered (pledge)"),
    ("returnees_notice", "返沪登记（告知书，居家隔离）", "Returnees registered (notice, home quarantine)"),
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
    ("reg_title", "返沪人员登记", "Returnee registration"),
    ("reg_intro", "请如实填写，然后阅读并签署适用于您出发地的承诺书或告知书。", "Fill in the form truthfully, then read and sign the pledge or notice that applies to where you came from."),
    ("reg_needs_script", "此页面需要启用 JavaScript（选择地区与手写签名）。", "This page needs JavaScript (to pick the region and sign with a finger)."),
    ("reg_unit", "房号（或探访的房号）", "Unit (or the unit you visit)"),
    ("reg_origin", "出发地", "Where you came from"),
    ("reg_temperature", "当前体温（℃，可不填）", "Temperature now (°C, optional)"),
    ("reg_symptoms", "有无发热、咳嗽等症状？", "Any fever, cough or other symptoms?"),
    ("reg_contact", "14 天内有无接触史？", "Any contact with a case in the last 14 days?"),
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
    ("reg_proof", "存证：您的记录已写入公开可验证的存证日志（只含加盐哈希，不含个人信息）。", "Evidence: your record is in a public, verifiable evidence log (which holds only a salted hash, nothing personal)."),
    ("reg_record", "记录", "Record"),
    ("reg_log", "日志", "log"),
    ("reg_log_size", "记录总数", "records"),
    ("reg_root", "树根", "Root"),
    ("reg_download", "下载回执文件", "Download the receipt file"),
    ("reg_verify_link", "验证回执", "Verify a receipt"),
    ("reg_keep", "请保存回执文件：个人信息到期删除后，凭它仍可证明您签署过的内容。", "Keep the receipt file: after your personal data is deleted, it still proves what you signed."),
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
    ("reg_too_many", "该房号今日登记次数已达上限，请联系居委会。", "This unit has reached today's limit of registrations; please call the committee."),
    ("verify_title", "验证回执", "Verify a receipt"),
    ("verify_intro", "粘贴回执文件的内容：核对记录哈希、包含证明与检查点签名，无需登录。", "Paste a receipt file: the record's hash, its inclusion proof and the checkpoint's signature are checked. No login."),
    ("verify_paste", "回执（JSON）", "Receipt (JSON)"),
    ("verify_button", "验证", "Verify"),
    ("verify_ok", "验证通过：记录", "Verified: record"),
    ("verify_failed", "验证失败", "Not verified"),
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
