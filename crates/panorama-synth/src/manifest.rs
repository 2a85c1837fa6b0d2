//! The source manifest written beside the extracts: for each file, its system,
//! what it holds, how to read it, and how its columns and codes map to
//! Panorama's fields. `panorama ingest` reads it.

use chrono::NaiveDate;

const BODY: &str = r#"
[[systems]]
code = "core"
name = "核心存款系统"
name_en = "Core deposits"
trust = 90

[[systems]]
code = "card"
name = "信用卡系统"
name_en = "Credit cards"
trust = 70

[[systems]]
code = "loan"
name = "信贷管理系统"
name_en = "Loans"
trust = 85

[[systems]]
code = "wealth"
name = "理财销售系统"
name_en = "Wealth management"
trust = 75

[[systems]]
code = "echannel"
name = "电子渠道系统"
name_en = "E-channel"
trust = 40

[[files]]
path = "org_units.csv"
kind = "org_units"
[files.columns]
ORG_CODE = "code"
ORG_NAME = "name"
ORG_NAME_EN = "name_en"
ORG_LEVEL = "level"
PARENT_CODE = "parent_code"

[[files]]
path = "products.csv"
kind = "products"
[files.columns]
PROD_CODE = "code"
PROD_NAME = "name"
PROD_NAME_EN = "name_en"
PROD_CLASS = "class"
SYSTEM = "system"
TERM_MONTHS = "term_months"
RATE_BP = "rate_bp"

[[files]]
path = "core_customers.csv"
system = "core"
kind = "customers"
date_format = "%Y-%m-%d"
[files.columns]
CUST_NO = "source_key"
CUST_TYPE = "party_type"
CUST_NAME = "name"
GENDER = "gender"
BIRTH_DT = "birth_date"
CERT_TYPE = "id_type"
CERT_NO = "id_no"
CREDIT_CODE = "credit_code"
MOBILE = "mobile"
TEL = "phone"
EMAIL = "email"
ADDR = "address"
POST_CODE = "postcode"
INDUSTRY = "industry"
OCCUPATION = "occupation"
OPEN_BRANCH = "branch_code"
OPEN_DT = "opened_on"
[files.values.party_type]
"1" = "person"
"2" = "organisation"
[files.values.gender]
"1" = "M"
"2" = "F"
[files.values.id_type]
"01" = "resident_id"
"51" = "credit_code"

[[files]]
path = "core_relationships.csv"
system = "core"
kind = "relationships"
date_format = "%Y-%m-%d"
[files.columns]
CUST_NO = "from_key"
REL_CUST_NO = "to_key"
REL_TYPE = "kind"
START_DT = "since"
[files.values.kind]
"01" = "spouse"
"02" = "parent"
"03" = "child"
"11" = "legal_representative"
"12" = "executive"
"13" = "shareholder"
"14" = "finance_contact"
"15" = "guarantor"

[[files]]
path = "core_accounts.csv"
system = "core"
kind = "accounts"
date_format = "%Y-%m-%d"
[files.columns]
ACCT_NO = "account_no"
CUST_NO = "customer_key"
PROD_CODE = "product_code"
BRANCH = "branch_code"
CCY = "currency"
OPEN_DT = "opened_on"
MATURITY_DT = "matures_on"
CLOSE_DT = "closed_on"
STATUS = "status"
RATE_BP = "rate_bp"
SALES_STAFF = "sold_by"
[files.values.status]
A = "active"
D = "dormant"
C = "closed"

[[files]]
path = "core_balances.csv"
system = "core"
kind = "balances"
month_format = "%Y-%m"
amount_unit = "yuan"
[files.columns]
ACCT_NO = "account_no"
MONTH = "month"
AVG_BAL = "avg_balance"
END_BAL = "end_balance"

[[files]]
path = "core_transactions.csv"
system = "core"
kind = "transactions"
datetime_format = "%Y-%m-%d %H:%M:%S"
amount_unit = "yuan"
[files.columns]
TXN_NO = "txn_ref"
ACCT_NO = "account_no"
TXN_TIME = "booked_at"
AMOUNT = "amount"
DC_FLAG = "direction"
CHANNEL = "channel"
MCC = "mcc"
OPP_ACCT = "counterparty_account"
OPP_NAME = "counterparty_name"
BALANCE = "balance_after"
[files.values.channel]
"01" = "counter"
"02" = "atm"
"03" = "mobile"
"04" = "online"
"05" = "pos"
"06" = "batch"

[[files]]
path = "card_customers.csv"
system = "card"
kind = "customers"
date_format = "%Y%m%d"
[files.columns]
CARDHOLDER_ID = "source_key"
NAME = "name"
SEX = "gender"
DOB = "birth_date"
ID_NUMBER = "id_no"
MOBILE_PHONE = "mobile"
EMAIL = "email"
HOME_ADDRESS = "address"
APPLY_DATE = "opened_on"
[files.constants]
party_type = "person"
id_type = "resident_id"

[[files]]
path = "card_accounts.csv"
system = "card"
kind = "accounts"
date_format = "%Y%m%d"
amount_unit = "fen"
[files.columns]
CARD_NO = "account_no"
CARDHOLDER_ID = "customer_key"
PRODUCT = "product_code"
CREDIT_LIMIT_FEN = "credit_limit"
ISSUE_DATE = "opened_on"
CLOSE_DATE = "closed_on"
STATUS = "status"
[files.values.status]
ACTIVE = "active"
DORMANT = "dormant"
CLOSED = "closed"

[[files]]
path = "card_balances.csv"
system = "card"
kind = "balances"
month_format = "%Y%m"
amount_unit = "fen"
[files.columns]
CARD_NO = "account_no"
STMT_MONTH = "month"
AVG_BALANCE_FEN = "avg_balance"
STATEMENT_BALANCE_FEN = "end_balance"

[[files]]
path = "card_transactions.csv"
system = "card"
kind = "transactions"
datetime_format = "%Y%m%d%H%M%S"
amount_unit = "fen"
[files.columns]
AUTH_NO = "txn_ref"
CARD_NO = "account_no"
TRANS_DATETIME = "booked_at"
AMOUNT_FEN = "amount"
DIRECTION = "direction"
CHANNEL = "channel"
MCC = "mcc"
MERCHANT_NAME = "counterparty_name"
[files.values.direction]
DEBIT = "D"
CREDIT = "C"
[files.values.channel]
POS = "pos"
ONLINE = "online"
ATM = "atm"

[[files]]
path = "loan_customers.csv"
system = "loan"
kind = "customers"
date_format = "%Y/%m/%d"
[files.columns]
BORROWER_ID = "source_key"
BORROWER_TYPE = "party_type"
BORROWER_NAME = "name"
GENDER = "gender"
BIRTH_DATE = "birth_date"
ID_NO = "id_no"
USCC = "credit_code"
PHONE = "mobile"
ADDRESS = "address"
INDUSTRY = "industry"
BRANCH = "branch_code"
FIRST_LOAN_DATE = "opened_on"
[files.values.party_type]
P = "person"
C = "organisation"
[files.values.gender]
"男" = "M"
"女" = "F"

[[files]]
path = "loan_accounts.csv"
system = "loan"
kind = "accounts"
date_format = "%Y/%m/%d"
amount_unit = "yuan"
[files.columns]
CONTRACT_NO = "account_no"
BORROWER_ID = "customer_key"
PRODUCT_CODE = "product_code"
BRANCH = "branch_code"
PRINCIPAL = "credit_limit"
START_DATE = "opened_on"
END_DATE = "matures_on"
SETTLE_DATE = "closed_on"
STATUS = "status"
RATE_BP = "rate_bp"
MKT_STAFF = "sold_by"
[files.values.status]
NORMAL = "active"
OVERDUE = "active"
SETTLED = "closed"

[[files]]
path = "loan_balances.csv"
system = "loan"
kind = "balances"
month_format = "%Y-%m"
amount_unit = "yuan"
[files.columns]
CONTRACT_NO = "account_no"
MONTH = "month"
AVG_OUTSTANDING = "avg_balance"
END_OUTSTANDING = "end_balance"

[[files]]
path = "wealth_customers.csv"
system = "wealth"
kind = "customers"
date_format = "%Y-%m-%d"
[files.columns]
INVESTOR_NO = "source_key"
INVESTOR_NAME = "name"
GENDER = "gender"
BIRTHDAY = "birth_date"
ID_CARD = "id_no"
MOBILE = "mobile"
EMAIL = "email"
ADDRESS = "address"
OPEN_DATE = "opened_on"
[files.constants]
party_type = "person"
id_type = "resident_id"

[[files]]
path = "wealth_accounts.csv"
system = "wealth"
kind = "accounts"
date_format = "%Y-%m-%d"
[files.columns]
HOLDING_NO = "account_no"
INVESTOR_NO = "customer_key"
PRODUCT_CODE = "product_code"
BUY_DATE = "opened_on"
MATURITY_DATE = "matures_on"
REDEEM_DATE = "closed_on"
STATUS = "status"
[files.values.status]
HOLDING = "active"
REDEEMED = "closed"

[[files]]
path = "wealth_balances.csv"
system = "wealth"
kind = "balances"
month_format = "%Y-%m"
amount_unit = "yuan"
[files.columns]
HOLDING_NO = "account_no"
MONTH = "month"
AVG_VALUE = "avg_balance"
END_VALUE = "end_balance"

[[files]]
path = "echannel_customers.csv"
system = "echannel"
kind = "customers"
date_format = "%Y-%m-%d %H:%M:%S"
[files.columns]
USER_ID = "source_key"
REAL_NAME = "name"
MOBILE = "mobile"
ID_CARD = "id_no"
REGISTER_TIME = "opened_on"
[files.constants]
party_type = "person"
id_type = "resident_id"
"#;

/// The manifest for an extract dated `as_of`.
pub fn render(as_of: NaiveDate) -> String {
    format!(
        "# Source manifest of the Panorama demo bank, written by `panorama generate`.\n\
         # Each [[files]] entry: the file, its source system, what it holds, how to read it,\n\
         # and how its columns and code values map to Panorama's fields.\n\
         bank = \"Panorama Demo Bank\"\nextract_date = \"{as_of}\"\n{BODY}"
    )
}
