//! Segments: rule conditions over the feature catalogue, and their
//! evaluation on the feature table.
//!
//! A condition is a small expression language, parsed with the SQL
//! expression parser (sqlparser) and then checked node by node against the
//! feature catalogue before it becomes a DataFusion expression — it is
//! never pasted into SQL text. Accepted:
//!
//! - comparisons `= != <> < <= > >=` of a feature with a literal;
//! - `feature [NOT] BETWEEN a AND b`, `feature [NOT] IN (a, b, …)`;
//! - `feature IS [NOT] NULL`;
//! - `holds('code')` for a product code (`D001`) or class (`card`,
//!   alias `credit_card`);
//! - `and`, `or`, `not` and parentheses.
//!
//! Money features take yuan (`aum >= 500000`, up to two decimals); tier
//! values may be given by code or by name (`tier = '白金'`).

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::sql::sqlparser::ast::{
    self as sql, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
    Value,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;
use panorama_domain::Money;

use crate::catalogue::{CLASSES, FeatureType, catalogue};
use crate::config::Config;

pub use crate::error::ConditionError;

fn err<T>(msg: impl Into<String>) -> Result<T, ConditionError> {
    Err(ConditionError(msg.into()))
}

/// What a condition may refer to besides the catalogue.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// Product codes of the catalogue.
    pub products: Vec<String>,
    /// Tier codes with their names (zh, en).
    pub tiers: Vec<(String, String, String)>,
    /// RFM segment codes.
    pub rfm_segments: Vec<String>,
}

impl Vocabulary {
    /// The vocabulary of a configuration and a product list.
    pub fn new(config: &Config, products: Vec<String>) -> Vocabulary {
        let mut rfm: Vec<String> = config.rfm.segments.iter().map(|s| s.code.clone()).collect();
        rfm.extend(["inactive".to_owned(), "others".to_owned()]);
        Vocabulary {
            products,
            tiers: config
                .tiers
                .iter()
                .map(|t| (t.code.clone(), t.name_zh.clone(), t.name_en.clone()))
                .collect(),
            rfm_segments: rfm,
        }
    }
}

/// Maximum length of a condition, in bytes.
pub const MAX_CONDITION: usize = 4_000;

/// Parses and type-checks `text`, returning the DataFusion filter.
pub fn compile(text: &str, vocab: &Vocabulary) -> Result<Expr, ConditionError> {
    if text.trim().is_empty() {
        return err("empty condition");
    }
    if text.len() > MAX_CONDITION {
        return err(format!("longer than {MAX_CONDITION} bytes"));
    }
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(64)
        .try_with_sql(text)
        .map_err(|e| ConditionError(e.to_string()))?;
    let ast = parser
        .parse_expr()
        .map_err(|e| ConditionError(e.to_string()))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return err(format!(
            "unexpected '{}' at line {} column {}",
            next.token, next.span.start.line, next.span.start.column
        ));
    }
    Checker { vocab }.boolean(&ast)
}

struct Checker<'a> {
    vocab: &'a Vocabulary,
}

/// A literal of the condition.
enum Literal {
    Number(String),
    Text(String),
}

impl Checker<'_> {
    fn boolean(&self, e: &sql::Expr) -> Result<Expr, ConditionError> {
        match e {
            sql::Expr::Nested(inner) => self.boolean(inner),
            sql::Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::And => Ok(self.boolean(left)?.and(self.boolean(right)?)),
                BinaryOperator::Or => Ok(self.boolean(left)?.or(self.boolean(right)?)),
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => self.comparison(left, op, right),
                other => err(format!("operator {other} is not allowed here")),
            },
            sql::Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => Ok(!self.boolean(expr)?),
            sql::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (name, kind) = self.feature(expr)?;
                let lo = self.value(&name, kind, low)?;
                let hi = self.value(&name, kind, high)?;
                let b = col(name).between(lit(lo), lit(hi));
                Ok(if *negated { !b } else { b })
            }
            sql::Expr::InList {
                expr,
                list,
                negated,
            } => {
                let (name, kind) = self.feature(expr)?;
                let values = list
                    .iter()
                    .map(|v| self.value(&name, kind, v).map(lit))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(col(name).in_list(values, *negated))
            }
            sql::Expr::IsNull(inner) => Ok(col(self.feature(inner)?.0).is_null()),
            sql::Expr::IsNotNull(inner) => Ok(col(self.feature(inner)?.0).is_not_null()),
            sql::Expr::Function(f) => self.holds(f),
            sql::Expr::Identifier(_) | sql::Expr::CompoundIdentifier(_) => err(format!(
                "'{e}' is not a condition: compare it, e.g. {e} >= 1"
            )),
            other => err(format!("'{other}' is not a condition")),
        }
    }

    fn comparison(
        &self,
        left: &sql::Expr,
        op: &BinaryOperator,
        right: &sql::Expr,
    ) -> Result<Expr, ConditionError> {
        // feature OP literal, or literal OP feature (flipped).
        let (feature, literal, op) = if self.is_feature(left) {
            (left, right, op.clone())
        } else if self.is_feature(right) {
            let flipped = match op {
                BinaryOperator::Lt => BinaryOperator::Gt,
                BinaryOperator::LtEq => BinaryOperator::GtEq,
                BinaryOperator::Gt => BinaryOperator::Lt,
                BinaryOperator::GtEq => BinaryOperator::LtEq,
                o => o.clone(),
            };
            (right, left, flipped)
        } else {
            // Report the unknown name on the left.
            self.feature(left)?;
            return err(format!("'{right}' must be a feature or a value"));
        };
        let (name, kind) = self.feature(feature)?;
        if kind == FeatureType::CodeList {
            return err(format!(
                "{name} is a list of codes: test it with holds('…')"
            ));
        }
        let value = lit(self.value(&name, kind, literal)?);
        let c = col(name);
        Ok(match op {
            BinaryOperator::Eq => c.eq(value),
            BinaryOperator::NotEq => c.not_eq(value),
            BinaryOperator::Lt => c.lt(value),
            BinaryOperator::LtEq => c.lt_eq(value),
            BinaryOperator::Gt => c.gt(value),
            _ => c.gt_eq(value),
        })
    }

    fn is_feature(&self, e: &sql::Expr) -> bool {
        matches!(e, sql::Expr::Identifier(_))
    }

    fn feature(&self, e: &sql::Expr) -> Result<(String, FeatureType), ConditionError> {
        let sql::Expr::Identifier(ident) = e else {
            return err(format!("'{e}' is not a feature name"));
        };
        let name = ident.value.to_ascii_lowercase();
        let cat = catalogue();
        match cat.iter().find(|f| f.name == name) {
            Some(f) => Ok((f.name.clone(), f.kind)),
            None => {
                let best = cat
                    .iter()
                    .map(|f| (strsim::jaro_winkler(&f.name, &name), &f.name))
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                let hint = match best {
                    Some((s, n)) if s > 0.8 => format!("; did you mean {n}?"),
                    _ => "; `panorama features` lists them".to_owned(),
                };
                err(format!("unknown feature '{}'{hint}", ident.value))
            }
        }
    }

    fn literal(e: &sql::Expr) -> Option<Literal> {
        match e {
            sql::Expr::Value(v) => match &v.value {
                Value::Number(n, _) => Some(Literal::Number(n.clone())),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    Some(Literal::Text(s.clone()))
                }
                _ => None,
            },
            sql::Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match Self::literal(expr)? {
                Literal::Number(n) => Some(Literal::Number(format!("-{n}"))),
                Literal::Text(_) => None,
            },
            sql::Expr::Nested(inner) => Self::literal(inner),
            _ => None,
        }
    }

    fn value(
        &self,
        name: &str,
        kind: FeatureType,
        e: &sql::Expr,
    ) -> Result<ScalarValue, ConditionError> {
        let Some(literal) = Self::literal(e) else {
            return err(format!("'{e}' must be a literal value for {name}"));
        };
        match (kind, literal) {
            (FeatureType::Money, Literal::Number(n)) => Money::parse_major(&n)
                .map(|m| ScalarValue::Int64(Some(m.minor())))
                .map_err(|e| {
                    ConditionError(format!("{name}: '{n}' is not an amount in yuan: {e}"))
                }),
            (FeatureType::Integer, Literal::Number(n)) => n
                .parse::<i64>()
                .map(|v| ScalarValue::Int64(Some(v)))
                .map_err(|_| ConditionError(format!("{name} is a whole number; '{n}' is not"))),
            (FeatureType::Float, Literal::Number(n)) => n
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|v| ScalarValue::Float64(Some(v)))
                .ok_or_else(|| ConditionError(format!("{name}: '{n}' is not a number"))),
            (FeatureType::Date, Literal::Text(s)) => {
                let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| {
                    ConditionError(format!("{name}: '{s}' is not a date (YYYY-MM-DD)"))
                })?;
                Ok(ScalarValue::Date32(Some(crate::snapshot::date32(d))))
            }
            (FeatureType::Text, Literal::Text(s)) => self.text_value(name, &s),
            (k, Literal::Number(n)) => err(format!(
                "{name} is {} {}; '{n}' is a number",
                article(k.word()),
                k.word()
            )),
            (k, Literal::Text(s)) => err(format!(
                "{name} is {} {}; '{s}' is text",
                article(k.word()),
                k.word()
            )),
        }
    }

    fn text_value(&self, name: &str, s: &str) -> Result<ScalarValue, ConditionError> {
        let known: Vec<String> = match name {
            "tier" => {
                if let Some((code, _, _)) = self
                    .vocab
                    .tiers
                    .iter()
                    .find(|(c, zh, en)| c == s || zh == s || en.eq_ignore_ascii_case(s))
                {
                    return Ok(ScalarValue::Utf8(Some(code.clone())));
                }
                self.vocab
                    .tiers
                    .iter()
                    .map(|t| format!("{} ({})", t.0, t.1))
                    .collect()
            }
            "rfm_segment" => self.vocab.rfm_segments.clone(),
            "life_stage" => [
                "student",
                "young",
                "family",
                "mature",
                "senior",
                "organisation",
            ]
            .map(String::from)
            .to_vec(),
            "party_type" => ["person", "organisation"].map(String::from).to_vec(),
            "gender" => ["M", "F"].map(String::from).to_vec(),
            _ => return Ok(ScalarValue::Utf8(Some(s.to_owned()))),
        };
        if known.iter().any(|k| k == s) {
            Ok(ScalarValue::Utf8(Some(s.to_owned())))
        } else {
            err(format!(
                "{name} has no value '{s}'; known: {}",
                known.join(", ")
            ))
        }
    }

    fn holds(&self, f: &sql::Function) -> Result<Expr, ConditionError> {
        let fname = f.name.to_string().to_ascii_lowercase();
        if fname != "holds" {
            return err(format!(
                "unknown function '{}': only holds('product') is available",
                f.name
            ));
        }
        if f.over.is_some() || f.filter.is_some() {
            return err("holds() takes one product code or class");
        }
        let arg = match &f.args {
            FunctionArguments::List(l) if l.args.len() == 1 && l.clauses.is_empty() => &l.args[0],
            _ => return err("holds() takes one product code or class, e.g. holds('credit_card')"),
        };
        let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg else {
            return err("holds() takes one product code or class");
        };
        let Some(Literal::Text(code)) = Self::literal(e) else {
            return err(format!(
                "holds({e}): give the product in quotes, e.g. holds('D001')"
            ));
        };
        let class = match code.as_str() {
            "credit_card" => "card",
            "term_deposit" => "deposit",
            "current_account" => "settlement",
            other => other,
        };
        if CLASSES.iter().any(|(c, _)| *c == class) {
            return Ok(col("product_classes").like(lit(format!("%,{class},%"))));
        }
        if let Some(p) = self
            .vocab
            .products
            .iter()
            .find(|p| p.eq_ignore_ascii_case(&code))
        {
            return Ok(col("products").like(lit(format!("%,{p},%"))));
        }
        err(format!(
            "holds('{code}'): no such product or class; classes: {}, credit_card; products: {}",
            CLASSES.iter().map(|c| c.0).collect::<Vec<_>>().join(", "),
            self.vocab.products.join(", ")
        ))
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        Vocabulary::new(
            &Config::default_config(),
            vec!["D001".into(), "C002".into()],
        )
    }

    fn ok(text: &str) -> String {
        compile(text, &vocab())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_string()
    }

    fn bad(text: &str) -> String {
        compile(text, &vocab()).unwrap_err().0
    }

    #[test]
    fn the_documented_example_compiles_with_yuan_in_fen() {
        let e =
            ok("aum_month_avg >= 500000 and age between 30 and 45 and not holds('credit_card')");
        assert!(e.contains("aum_month_avg >= Int64(50000000)"), "{e}");
        assert!(e.contains("age BETWEEN Int64(30) AND Int64(45)"), "{e}");
        assert!(
            e.contains("product_classes NOT LIKE Utf8(\"%,card,%\")"),
            "{e}"
        );
    }

    #[test]
    fn in_lists_names_and_flipped_comparisons() {
        let e = ok("tier in ('白金', 'core') OR rfm_segment = 'at_risk'");
        assert!(e.contains("platinum") && e.contains("core"), "{e}");
        let e = ok("100.5 < profit");
        assert!(e.contains("profit > Int64(10050)"), "{e}");
        let e = ok("(age >= 18) AND NOT (age IN (20, 21)) AND last_txn_on >= '2026-01-01'");
        assert!(e.contains("Date32"), "{e}");
        let e = ok("holds('d001') and gender is not null and profit < -10");
        assert!(
            e.contains("%,D001,%") && e.contains("profit < Int64(-1000)"),
            "{e}"
        );
    }

    #[test]
    fn mistakes_get_clear_errors() {
        assert!(bad("aum_month_avgg > 5").contains("did you mean aum_month_avg"));
        assert!(bad("age > 'old'").contains("age is an integer; 'old' is text"));
        assert!(bad("age > 30.5").contains("whole number"));
        assert!(bad("aum > 1.234").contains("not an amount"));
        assert!(bad("tier = 'diamond'").contains("known: core (核心)"));
        assert!(bad("holds('X9')").contains("no such product"));
        assert!(bad("sleep(5)").contains("unknown function"));
        assert!(bad("age > 30 age < 40").contains("unexpected"));
        assert!(bad("age").contains("is not a condition"));
        assert!(bad("products = 'x'").contains("holds"));
        assert!(bad("age > (SELECT 1)").contains("literal"));
        assert!(bad("age > 30; DROP TABLE customer").contains("unexpected"));
        assert!(bad("").contains("empty"));
        assert!(bad(&"(".repeat(500)).len() < 300);
    }
}
