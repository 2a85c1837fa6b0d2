//! Interface text in Simplified Chinese (the default) and English.
//!
//! Every string is a typed constant with both languages, so a page cannot
//! name a message that does not exist or lacks a translation.

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From a cookie or query value; anything unknown is Chinese.
    pub fn parse(s: &str) -> Lang {
        if s.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// The `lang` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// One message in both languages.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// Chinese.
    pub zh: &'static str,
    /// English.
    pub en: &'static str,
}

impl Text {
    /// The message in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }
}

macro_rules! texts {
    ($($name:ident: $zh:literal / $en:literal,)*) => {
        $(
            #[allow(missing_docs)]
            pub const $name: Text = Text { zh: $zh, en: $en };
        )*
        /// Every message, for completeness checks.
        pub const EVERY: &[Text] = &[$($name),*];
    };
}

texts! {
    APP: "全景客户关系管理" / "Panorama CRM",
    LOGIN: "登录" / "Log in",
    LOGOUT: "退出" / "Log out",
    USERNAME: "用户名" / "Username",
    PASSWORD: "密码" / "Password",
    LOGIN_FAILED: "用户名或密码错误" / "Wrong username or password",
    LOGIN_LOCKED: "登录失败次数过多，请稍后再试" / "Too many failed logins; try again later",
    WORKBENCH: "工作台" / "Workbench",
    CUSTOMERS: "客户" / "Customers",
    MY_CUSTOMERS: "我的客户" / "My customers",
    SEARCH: "搜索" / "Search",
    SEARCH_HINT: "姓名、手机号、身份证号、账号或卡号" / "Name, mobile, resident id, account or card number",
    AUDIT: "审计" / "Audit",
    MODELS: "模型" / "Models",
    CAMPAIGNS: "营销活动" / "Campaigns",
    VERSION: "版本" / "Version",
    TARGET: "预测目标" / "Target",
    TRAINED_BY: "训练人" / "Trained by",
    APPROVED_BY: "审批人" / "Approved by",
    TEST_AUC: "测试AUC" / "Test AUC",
    GAINS: "累计增益" / "Cumulative gains",
    DECILE: "十分位" / "Decile",
    RATE: "响应率" / "Rate",
    INTERVAL: "95%置信区间" / "95% interval",
    MEMBERS: "成员" / "Members",
    RESPONDERS: "响应" / "Responders",
    ARM: "方案" / "Arm",
    OBJECTIVE: "目标" / "Objective",
    USERS: "用户" / "Users",
    TASKS: "待办任务" / "Tasks",
    NO_TASKS: "暂无待办" / "Nothing to do",
    ALERTS: "提醒" / "Alerts",
    NO_ALERTS: "暂无提醒" / "No alerts",
    RULE_BIRTHDAY: "生日" / "Birthday",
    RULE_CONTACT_BIRTHDAY: "企业联系人生日" / "Company contact's birthday",
    RULE_MATURITY: "到期" / "Maturity",
    RULE_BALANCE_CHANGE: "资产异动" / "Balance swing",
    RULE_DORMANT: "休眠" / "Dormant",
    RULE_TIER_CHANGE: "等级变动" / "Tier change",
    RULE_AUM_DECLINE: "流失风险" / "Churn risk",
    DONE: "完成" / "Done",
    DUE: "到期" / "Due",
    NAME: "姓名" / "Name",
    CUSTOMER_NO: "客户号" / "Customer no.",
    TYPE: "类型" / "Type",
    PERSON: "个人" / "Person",
    ORGANISATION: "对公" / "Company",
    MOBILE: "手机" / "Mobile",
    BRANCH: "网点" / "Branch",
    TIER: "等级" / "Tier",
    AUM: "资产余额(元)" / "AUM (yuan)",
    AUM_AVG: "月日均资产(元)" / "Monthly avg AUM (yuan)",
    PROFIT: "贡献(元)" / "Profit (yuan)",
    MIN_AUM: "最低资产(元)" / "Min AUM (yuan)",
    ALL: "全部" / "All",
    FILTER: "筛选" / "Filter",
    SORT: "排序" / "Sort",
    PREV: "上一页" / "Previous",
    NEXT: "下一页" / "Next",
    TOTAL: "共" / "Total",
    NO_RESULTS: "没有找到客户" / "No customers found",
    BASIC: "基本信息" / "Basic",
    CONTACT_INFO: "联系方式" / "Contact",
    FAMILY: "家庭与关系" / "Family and relationships",
    FINANCIAL: "财务信息" / "Financial",
    SPECIAL: "特别信息" / "Special",
    GENDER: "性别" / "Gender",
    BIRTH_DATE: "出生日期" / "Birth date",
    RESIDENT_ID: "身份证号" / "Resident id",
    CREDIT_CODE: "统一社会信用代码" / "Credit code",
    EMAIL: "邮箱" / "Email",
    ADDRESS: "地址" / "Address",
    INDUSTRY: "行业" / "Industry",
    SINCE: "客户起始" / "Customer since",
    ACCOUNTS: "账户与持仓" / "Accounts and holdings",
    PRODUCT: "产品" / "Product",
    ACCOUNT_NO: "账号" / "Account no.",
    OPENED: "开户日" / "Opened",
    MATURES: "到期日" / "Matures",
    STATUS: "状态" / "Status",
    BALANCE: "余额(元)" / "Balance (yuan)",
    TREND: "资产与余额走势" / "AUM and balance trend",
    TRANSACTIONS: "近12个月交易(按渠道)" / "Transactions, last 12 months (by channel)",
    RECENT_TXNS: "最近交易" / "Recent transactions",
    CHANNEL: "渠道" / "Channel",
    COUNT: "笔数" / "Count",
    AMOUNT: "金额(元)" / "Amount (yuan)",
    CREDIT: "转入" / "In",
    DEBIT: "转出" / "Out",
    TIER_HISTORY: "等级变化" / "Tier history",
    SEGMENTS: "所属客群" / "Segments",
    MODEL_SCORES: "模型评分" / "Model scores",
    MODEL: "模型" / "Model",
    SCORE: "得分" / "Score",
    TOP_REASONS: "主要原因" / "Top reasons",
    CHURN_RISK: "流失风险" / "Churn risk",
    UPTAKE: "产品开通倾向" / "Uptake propensity",
    NEXT_BEST: "推荐产品" / "Next best product",
    CONTACTS: "接触记录" / "Contacts",
    RECORD_CONTACT: "记录接触" / "Record a contact",
    OUTCOME: "结果" / "Outcome",
    NOTES: "备注" / "Notes",
    FOLLOW_UP: "跟进日期" / "Follow up on",
    SAVE: "保存" / "Save",
    OPPORTUNITIES: "商机" / "Opportunities",
    STAGE: "阶段" / "Stage",
    UNMASK: "查看完整信息" / "Show full details",
    UNMASK_REASON: "查看原因（将被审计）" / "Reason (audited)",
    HOUSEHOLD_AUM: "家庭" / "Household",
    NONE: "无" / "None",
    NOT_FOUND: "未找到，或不在您的权限范围内" / "Not found, or not in your scope",
    FORBIDDEN: "您的角色无权访问此页面" / "Your role may not open this page",
    ACTOR: "操作人" / "Actor",
    ACTION: "操作" / "Action",
    TIME: "时间" / "Time",
    FROM_IP: "来源" / "From",
    REASON: "原因" / "Reason",
    RESULT: "结果" / "Outcome",
    DETAIL: "详情" / "Detail",
    FROM: "起" / "From",
    TO: "止" / "To",
    ROLE: "角色" / "Role",
    ORG: "机构" / "Org unit",
    AS_OF: "数据日期" / "As of",
    SCORES: "模型评分" / "Scores",
    ACTIVE: "正常" / "Active",
    DORMANT: "久悬" / "Dormant",
    CLOSED: "销户" / "Closed",
    PHONE_CALL: "电话" / "Phone",
    VISIT: "拜访" / "Visit",
    AT_BRANCH: "网点面谈" / "At the branch",
    LANG_SWITCH: "English" / "中文",
    SAVED: "已保存" / "Saved",
    PIPELINE: "商机管道" / "Pipeline",
    NEW_OPPORTUNITY: "新建商机" / "New opportunity",
    EXPECTED_AMOUNT: "预计金额（元）" / "Expected amount (yuan)",
    EXPECTED_CLOSE: "预计成交日" / "Expected close",
    OWNER: "负责人" / "Owner",
    MOVE: "变更" / "Move",
    STAGE_LEAD: "线索" / "Lead",
    STAGE_CONTACTED: "已接触" / "Contacted",
    STAGE_PROPOSAL: "方案" / "Proposal",
    STAGE_WON: "成交" / "Won",
    STAGE_LOST: "流失" / "Lost",
    OPEN_OPPORTUNITIES: "进行中的商机" / "Open opportunities",
    WON_LOST_SINCE: "成交与流失自" / "Won and lost since",
    UNKNOWN_PRODUCT: "没有这个产品" / "No such product",
    OPPORTUNITY_CLOSED: "商机已成交或流失，不能再变更" / "The opportunity is won or lost and cannot move",
    STAGE_UNCHANGED: "商机已在该阶段" / "The opportunity is at that stage already",
    UNKNOWN_STAGE: "没有这个阶段" / "No such stage",
    NEW_USER: "新建用户" / "New user",
    DISPLAY_NAME: "姓名" / "Display name",
    NEW_PASSWORD: "新密码（留空不变）" / "New password (blank: unchanged)",
    INITIAL_PASSWORD: "初始密码" / "Initial password",
    DISABLED: "停用" / "Disabled",
    ENABLED: "启用" / "Enabled",
    USER_EXISTS: "用户名已存在" / "That username is taken",
    BAD_USERNAME: "用户名须为 3–32 位小写字母、数字、点、横线或下划线" / "A username is 3–32 lower-case letters, digits, dots, dashes or underscores",
    WEAK_PASSWORD: "密码至少 10 位，且不能与用户名相同" / "A password has at least 10 characters and is not the username",
    SELF_LOCKOUT: "不能停用自己或取消自己的管理员角色" / "You cannot disable yourself or drop your own admin role",
    UPDATE: "更新" / "Update",
    CAMPAIGN_LEADS: "营销线索" / "Campaign leads",
    SCRIPT: "话术" / "Script",
    ENDS_ON: "截止" / "Ends",
    OPEN_LEADS: "待联系" / "To contact",
    ARRANGE: "定制工作台" / "Arrange the workbench",
    SHOW: "显示" / "Show",
    ORDER: "顺序" / "Order",
    MIN_SCORE: "最低评分" / "Min score",
    ASSIGNMENTS: "客户归属" / "Assignment",
    RM_BOOKS: "客户经理及其客户数" / "RMs and their books",
    PORTFOLIO: "客户类型" / "Portfolio",
    MOVE_CUSTOMERS: "分配客户" / "Assign customers",
    CUSTOMER_NUMBERS: "客户号（每行一个）" / "Customer numbers (one per line)",
    OR_SEGMENT: "或整个客群" / "or a whole segment",
    TO_RM: "分配给" / "To RM",
    UPLOAD: "上传文件分配" / "Assign from a file",
    UPLOAD_HINT: "CSV：客户号,客户经理用户名（每行一户）" / "CSV: customer number,RM username (one customer a line)",
    RECLAIM: "收回至网点" / "Reclaim to the branch pool",
    RECLAIM_ALL_OF: "收回该客户经理的全部客户" / "Reclaim all of this RM's customers",
    SUGGESTIONS: "调整建议（客户等级变化）" / "Suggestions (tier changes)",
    ACCEPT: "采纳" / "Accept",
    MOVED: "已调整" / "Moved",
    UNCHANGED: "无需调整" / "Unchanged",
    REFUSED: "不在权限范围" / "Outside your scope",
    REJECTED_LINES: "被拒绝的行" / "Rejected lines",
    LINE: "行" / "Line",
    HISTORY: "归属历史" / "Assignment history",
    COMPLAINTS: "投诉" / "Complaints",
    NEW_COMPLAINT: "登记投诉" / "Record a complaint",
    CATEGORY: "类别" / "Category",
    SEVERITY: "严重程度" / "Severity",
    SEVERITY_HIGH: "紧急" / "Urgent",
    SEVERITY_NORMAL: "一般" / "Normal",
    DESCRIPTION: "投诉内容" / "What the customer says",
    SLA_DUE: "处理时限" / "SLA due",
    SLA_LEFT: "剩余" / "left",
    SLA_BREACHED: "已超时" / "overdue by",
    HOURS: "小时" / "hours",
    RESOLUTION: "处理结果" / "Resolution",
    RECEIVED: "受理时间" / "Received",
    ACT_START: "开始处理" / "Start",
    ACT_ESCALATE: "升级" / "Escalate",
    ACT_RESOLVE: "办结" / "Resolve",
    ACT_REOPEN: "重新处理" / "Reopen",
    ACT_CLOSE: "关闭并回访" / "Close with the survey",
    STATUS_OPEN: "待处理" / "Open",
    STATUS_IN_PROGRESS: "处理中" / "In progress",
    STATUS_ESCALATED: "已升级" / "Escalated",
    STATUS_RESOLVED: "已办结" / "Resolved",
    STATUS_CLOSED: "已关闭" / "Closed",
    CSAT: "满意度（1–5）" / "CSAT (1–5)",
    NPS: "推荐意愿（0–10）" / "NPS (0–10)",
    SATISFACTION: "客户满意度（近 90 天）" / "Satisfaction (last 90 days)",
    ANSWERS: "回访数" / "Answers",
    WRONG_STATUS: "当前状态下不能执行该操作" / "Not possible in the complaint's current status",
    NOTE_NEEDED: "办结须填写处理结果" / "A resolution needs a note",
    STEPS: "处理过程" / "Steps",
    CUSTOMER_SINCE: "客户纪念日（首次开户）" / "Customer since (first account)",
    PREFERRED_CHANNEL: "常用渠道" / "Preferred channel",
    CONTACT_PREFS: "联系偏好" / "Contact preferences",
    OPT_OUT_ALL: "拒绝一切营销" / "No marketing at all",
    OPT_OUT_PHONE: "拒接营销电话" / "No calls",
    OPT_OUT_SMS: "拒收短信" / "No SMS",
    OPT_OUT_EMAIL: "拒收邮件" / "No e-mail",
    DND_REST_DAYS: "休息日勿扰" / "Do not disturb on rest days",
    NO_RESTRICTIONS: "无限制" / "No restrictions",
    CHANGE_PREFS: "修改联系偏好" / "Change contact preferences",
    TARGETS: "经营任务" / "Targets",
    MY_TARGETS: "我的任务" / "My targets",
    PERIOD: "期间" / "Period",
    INDICATOR: "指标" / "Indicator",
    TARGET_VALUE: "任务" / "Target",
    ACTUAL: "完成" / "Actual",
    PROGRESS: "完成率" / "Progress",
    RANK: "排名" / "Rank",
    SET_TARGET: "下达任务" / "Set the target",
    SPLIT_MANUAL: "手工分解" / "Split by hand",
    SPLIT_PROPORTIONAL: "按比例分解" / "Split in proportion",
    BASE_CUSTOMERS: "按管户数" / "to customers in the book",
    BASE_AUM: "按管户资产" / "to AUM of the book",
    REFRESH_ACTUALS: "重新计算完成情况" / "Recompute the actuals",
    NO_TARGET: "该机构本期尚无此项任务" / "No target for this org unit, period and indicator",
    VIEW: "查看" / "View",
    DASHBOARD: "经营驾驶舱" / "Dashboard",
    BY_TIER: "分层客户与资产" / "Customers and AUM by tier",
    MIGRATION: "客户等级迁移" / "Tier migration",
    RM_COMPARISON: "客户经理业绩对比" / "RMs compared",
    SEGMENT_SIZES: "客群规模" / "Segment sizes",
    CAMPAIGN_RESULTS: "营销活动效果" / "Campaign results",
    TARGET_PROGRESS: "任务完成进度" / "Target progress",
    PARETO: "利润贡献帕累托" / "Profit Pareto",
    EXPORT_EXCEL: "导出 Excel" / "Export to Excel",
    TREATED: "营销组" / "Treated",
    CONTROL_GROUP: "对照组" / "Control",
    LIFT: "提升" / "Lift",
    LOSS_MAKING: "亏损客户" / "Loss-making customers",
    TOP_SHARE: "前 x% 客户" / "Top x% of customers",
    PROFIT_SHARE: "利润占比" / "Share of profit",
    SERVICE_DESK: "来电服务" / "Service desk",
    CALLER_NUMBER: "来电号码" / "Caller's number",
    IDENTIFY: "识别客户" / "Identify",
    UNKNOWN_CALLER: "未识别到客户" / "No customer has this number",
    LIKELY_REASONS: "可能的来电原因" / "Likely reasons for the call",
    NO_REASONS: "近期无特别事件" / "No recent event stands out",
    REASON_MATURITY: "到期" / "Maturing",
    REASON_LARGE_DEBIT: "大额支出" / "Large debit",
    REASON_COMPLAINT: "未结投诉" / "Open complaint",
    REASON_CHURN: "流失风险" / "At risk of leaving",
    RETENTION_OFFER: "挽留方案（权限内）" / "Retention offer (within the allowed band)",
    RENEW_AT: "续存/续购利率可上浮至" / "Renew at up to",
    STANDARD_RATE: "标准利率" / "standard rate",
    OPEN_360: "打开客户视图" / "Open the 360",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        for t in EVERY {
            assert!(!t.zh.is_empty() && !t.en.is_empty(), "{t:?}");
            assert_ne!(t.zh, t.en, "{t:?} is not translated");
        }
        assert_eq!(Lang::parse("EN"), Lang::En);
        assert_eq!(Lang::parse("fr"), Lang::Zh);
    }
}
