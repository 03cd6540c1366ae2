//! SeaTunnel's SQL dialect, turned into what DataFusion plans: the parsed statement is
//! rewritten where SeaTunnel's syntax means something DataFusion's does not, before it is
//! planned.
//!
//! - `CAST(x AS TIMESTAMP | DATETIME | DATE | TIME | BYTES)` call SeaTunnel's casts (epoch
//!   milliseconds, `yyyyMMdd`, `HHmmss`, UTF-8 bytes); `LONG` and `BYTE` are BIGINT and
//!   TINYINT.
//! - `EXTRACT(field FROM x)` takes SeaTunnel's fields (`DAYOFWEEK` is ISO, Monday = 1).
//! - `SUBSTRING` is SeaTunnel's (a negative start counts from the end).

use crate::functions::system::{CAST_BYTES, CAST_DATE, CAST_TIME, CAST_TIMESTAMP};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType as SqlType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentList, FunctionArguments, Ident, ObjectName, Statement, Value,
};
use std::ops::ControlFlow;

/// Rewrites `statement` in place.
pub fn rewrite(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |e: &mut Expr| {
        if let Some(new) = rewritten(e) {
            *e = new;
        }
        ControlFlow::<()>::Continue(())
    });
}

fn rewritten(e: &Expr) -> Option<Expr> {
    match e {
        Expr::Cast {
            expr, data_type, ..
        } => {
            let function = match data_type {
                SqlType::Timestamp(..) | SqlType::Datetime(_) => CAST_TIMESTAMP,
                SqlType::Date => CAST_DATE,
                SqlType::Time(..) => CAST_TIME,
                SqlType::Bytes(_) => CAST_BYTES,
                SqlType::Custom(name, _) => match name.to_string().to_ascii_uppercase().as_str() {
                    "BYTES" => CAST_BYTES,
                    "LONG" => return Some(recast(e, SqlType::BigInt(None))),
                    "BYTE" => return Some(recast(e, SqlType::TinyInt(None))),
                    _ => return None,
                },
                _ => return None,
            };
            Some(call(function, vec![expr.as_ref().clone()]))
        }
        // DataFusion plans SUBSTRING past the function registry; SeaTunnel's counts a negative
        // start from the end.
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![expr.as_ref().clone()];
            args.push(
                substring_from
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| Expr::Value(Value::Number("1".into(), false).into())),
            );
            args.extend(substring_for.as_deref().cloned());
            Some(call("substring", args))
        }
        Expr::Extract { field, expr, .. } => {
            let name = Expr::Value(Value::SingleQuotedString(field.to_string()).into());
            Some(call("st_extract", vec![name, expr.as_ref().clone()]))
        }
        _ => None,
    }
}

fn recast(e: &Expr, to: SqlType) -> Expr {
    let mut e = e.clone();
    if let Expr::Cast { data_type, .. } = &mut e {
        *data_type = to;
    }
    e
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten_sql(sql: &str) -> String {
        let mut s = Parser::parse_sql(&GenericDialect {}, sql)
            .unwrap()
            .remove(0);
        rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn seatunnel_casts_and_fields_become_its_functions() {
        assert_eq!(
            rewritten_sql(
                "SELECT CAST(c4 AS TIMESTAMP), CAST(c5 AS date), CAST(n AS bytes) FROM t"
            ),
            "SELECT st_cast_timestamp(c4), st_cast_date(c5), st_cast_bytes(n) FROM t"
        );
        assert_eq!(
            rewritten_sql("SELECT CAST(a AS LONG), CAST(b AS STRING) FROM t"),
            "SELECT CAST(a AS BIGINT), CAST(b AS STRING) FROM t"
        );
        assert_eq!(
            rewritten_sql(
                "SELECT EXTRACT(DAYOFWEEK FROM c3) FROM t WHERE EXTRACT(YEAR FROM c3) > 1"
            ),
            "SELECT st_extract('DAYOFWEEK', c3) FROM t WHERE st_extract('YEAR', c3) > 1"
        );
    }
}
