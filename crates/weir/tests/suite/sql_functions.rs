//! SeaTunnel's SQL functions in the `Sql` transform, checked end to end the way SeaTunnel's own
//! e2e tests check them: a FakeSource row, a query, and an Assert sink holding the documented
//! answers (types included).

use crate::common;

use common::run_text;
use weir_core::JobStatus;

/// A job over one literal row of `schema`, running `query`, asserting `rules` (field rules).
fn job(schema: &str, row: &str, query: &str, rules: &[(&str, &str, &str)]) -> String {
    let rules: Vec<String> = rules
        .iter()
        .map(|(field, ty, value)| {
            format!(
                "{{ field_name = \"{field}\", field_type = \"{ty}\", field_value = [{{ equals_to = {value} }}] }}"
            )
        })
        .collect();
    format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ plugin_output = fake, schema = {{ fields {{ {schema} }} }}, rows = [{{ kind = INSERT, fields = [{row}] }}] }} }}
transform {{ Sql {{ plugin_input = fake, plugin_output = out, query = "{query}" }} }}
sink {{ Assert {{ plugin_input = out, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}], field_rules = [{}] }} }} }}
"#,
        rules.join(",\n")
    )
}

async fn passes(text: &str) {
    let report = run_text(text).await;
    assert_eq!(
        report.status,
        JobStatus::Finished,
        "{}",
        report.error.map(|e| e.to_string()).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_functions_and_casts() {
    passes(&job(
        "id = bigint, name = string, missing = string, ms = bigint, ymd = int, hms = int",
        r#"7, "Ann", null, 1000, 20240229, 130507"#,
        "select coalesce(missing, 'none') as c1, ifnull(missing, 'none') as c2, \
         nullif(name, 'Ann') is null as c3, cast(id as string) as c4, cast(ms as timestamp) as c5, \
         cast(ymd as date) as c6, cast(hms as time) as c7, cast(id as long) as c8, \
         cast(name as bytes) is not null as c9 from fake",
        &[
            ("c1", "string", "\"none\""),
            ("c2", "string", "\"none\""),
            ("c3", "boolean", "true"),
            ("c4", "string", "\"7\""),
            ("c6", "date", "\"2024-02-29\""),
            ("c7", "time", "\"13:05:07\""),
            ("c8", "bigint", "7"),
            ("c9", "boolean", "true"),
        ],
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_functions() {
    passes(&job(
        "i = int, d = double",
        "17, -2.5",
        "select mod(i, 5) as m1, mod(i, 2.5) as m2, ceil(d) as c, floor(d) as f, sign(d) as s, \
         rand() < 1 as r, abs(d) as a from fake",
        &[
            ("m1", "int", "2"),
            ("m2", "double", "2.0"),
            ("c", "int", "-2"),
            ("f", "int", "-3"),
            ("s", "int", "-1"),
            ("r", "boolean", "true"),
            ("a", "double", "2.5"),
        ],
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_functions() {
    passes(&job(
        "name = string, n = int, flag = boolean, day = date",
        r#""Weir Flow", 66, true, "2024-03-05""#,
        "select char(n) as s1, rawtohex('B') as s2, hextoraw('0042') as s3, \
         insert(name, 1, 4, 'Slow') as s4, locate('o', name) as s5, space(2) as s6, \
         soundex(name) as s7, regexp_substr(name, 'F\\\\w+') as s8, \
         regexp_replace(name, 'w', '_', 'i') as s9, replace(name, ' ') as s10, \
         substring(name, -4) as s11, to_char(flag) as s12, to_char(n) as s13, \
         to_char(day, 'dd/MM/yyyy') as s14, lcase(name) as s15, \
         des_encrypt('1234567890', 'Joy Ding') as s16, \
         des_decrypt('1234567890', des_encrypt('1234567890', name)) as s17 from fake",
        &[
            ("s1", "string", "\"B\""),
            ("s2", "string", "\"0042\""),
            ("s3", "string", "\"B\""),
            ("s4", "string", "\"Slow Flow\""),
            ("s5", "int", "8"),
            ("s6", "string", "\"  \""),
            ("s7", "string", "\"W614\""),
            ("s8", "string", "\"Flow\""),
            ("s9", "string", "\"_eir Flo_\""),
            ("s10", "string", "\"WeirFlow\""),
            ("s11", "string", "\"Flow\""),
            ("s12", "string", "\"true\""),
            ("s13", "string", "\"66\""),
            ("s14", "string", "\"05/03/2024\""),
            ("s15", "string", "\"weir flow\""),
            // Java's DES/CBC/PKCS5Padding of the same key, IV and text.
            ("s16", "string", "\"+jXI7ngL1UzB8yoBYEVgoQ==\""),
            ("s17", "string", "\"Weir Flow\""),
        ],
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_and_time_functions() {
    passes(&job(
        "t = timestamp, u = timestamp, text = string, secs = bigint",
        r#""2024-01-31T22:15:30.250", "2024-03-01T08:00:00", "2024-07-04 09:30:00.125", 86400"#,
        "select dateadd(t, 1, 'MONTH') as d1, dateadd(t, 3, 'HOUR') as d2, \
         datediff(t, u, 'DAY') as d3, datediff(t, u, 'MONTH') as d4, \
         date_trunc(t, 'MONTH') as d5, dayname(t) as d6, monthname(t) as d7, \
         day_of_week(t) as d8, day_of_year(u) as d9, extract(DAYOFWEEK FROM u) as d10, \
         extract(MILLISECOND FROM t) as d11, formatdatetime(t, 'yyyy-MM-dd HH:mm:ss.SS') as d12, \
         hour(t) as d13, quarter(u) as d14, week(t) as d15, year(t) as d16, \
         parsedatetime(text, 'yyyy-MM-dd HH:mm:ss.SSS') as d17, to_date('2024-07-04', 'yyyy-MM-dd') as d18, \
         is_date(text, 'yyyy/MM/dd') as d19, from_unixtime(secs, 'yyyy-MM-dd HH:mm', 'UTC+2') as d20, \
         current_date is not null as d21 from fake",
        &[
            ("d1", "timestamp", "\"2024-02-29T22:15:30.250\""),
            ("d2", "timestamp", "\"2024-02-01T01:15:30.250\""),
            ("d3", "bigint", "30"),
            ("d4", "bigint", "1"),
            ("d5", "timestamp", "\"2024-01-01T00:00:00\""),
            ("d6", "string", "\"Wednesday\""),
            ("d7", "string", "\"January\""),
            ("d8", "int", "3"),
            ("d9", "int", "61"),
            ("d10", "int", "5"),
            ("d11", "int", "250"),
            ("d12", "string", "\"2024-01-31 22:15:30.25\""),
            ("d13", "int", "22"),
            ("d14", "int", "1"),
            ("d15", "int", "6"),
            ("d16", "int", "2024"),
            ("d17", "timestamp", "\"2024-07-04T09:30:00.125\""),
            ("d18", "date", "\"2024-07-04\""),
            ("d19", "boolean", "false"),
            ("d20", "string", "\"1970-01-02 02:00\""),
            ("d21", "boolean", "true"),
        ],
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_call_names_the_function() {
    let text = job(
        "n = int",
        "1",
        "select mod(n, 0) as m from fake",
        &[("m", "int", "0")],
    );
    let report = run_text(&text).await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("mod: division by zero"), "{error}");
}
