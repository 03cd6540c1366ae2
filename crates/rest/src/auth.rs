//! Who may call a listener. Flink's REST API has no authentication at all; weir's listeners
//! (the Flink API, SeaTunnel's v1 and v2, and the Prometheus port when asked) all take the same
//! credentials:
//!
//! - **bearer tokens** (`Authorization: Bearer <token>`), for scripts and the CLIs (Flink's CLI
//!   sends them from `FLINK_REST_CLIENT_HEADERS`);
//! - **HTTP basic auth** (`Authorization: Basic …`), for browsers (the dashboard gets the
//!   browser's login prompt) and SeaTunnel's clients (`seatunnel.engine.http.enable-basic-auth`).
//!
//! Each credential has a [`Role`]: `read-only` may read (GET, HEAD, OPTIONS); `operator` may also
//! change the cluster (submit, cancel, savepoint, rescale, upload, delete, shut down: every other
//! method). No credentials, or wrong ones, is 401 with a `WWW-Authenticate` challenge; a
//! read-only credential on a change is 403.
//!
//! [`AuthPolicy::decide`] is the whole decision, pure and tested; [`guard`] only applies it.
//! Where credentials come from (files, the environment) is the binary's business.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::sync::Arc;

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads only: GET, HEAD, OPTIONS.
    ReadOnly,
    /// Reads and changes: every method.
    Operator,
}

impl Role {
    /// `read-only` or `operator`, as written in a credentials file.
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "read-only" | "readonly" | "viewer" => Some(Role::ReadOnly),
            "operator" | "admin" => Some(Role::Operator),
            _ => None,
        }
    }

    /// The role a request with `method` needs.
    pub fn needed_for(method: &Method) -> Role {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            Role::ReadOnly
        } else {
            Role::Operator
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::Operator => "operator",
        }
    }
}

/// One accepted credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Token(String),
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Credential {
    // Secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Token(_) => write!(f, "Token(******)"),
            Credential::Basic { user, .. } => write!(f, "Basic({user}:******)"),
        }
    }
}

/// The shortest bearer token accepted: guessing one must not be feasible.
pub const MIN_TOKEN_LEN: usize = 16;

/// The credentials a cluster accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    entries: Vec<(Credential, Role)>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn has_basic(&self) -> bool {
        self.entries
            .iter()
            .any(|(c, _)| matches!(c, Credential::Basic { .. }))
    }

    fn has_tokens(&self) -> bool {
        self.entries
            .iter()
            .any(|(c, _)| matches!(c, Credential::Token(_)))
    }

    /// Adds a bearer token for `role`; `from` names where it came from, for the error.
    pub fn add_token(&mut self, token: &str, role: Role, from: &str) -> Result<(), String> {
        let token = token.trim();
        if token.len() < MIN_TOKEN_LEN || token.chars().any(|c| c.is_whitespace()) {
            return Err(format!(
                "{from}: a bearer token must be at least {MIN_TOKEN_LEN} characters without spaces (generate one with: openssl rand -hex 32)"
            ));
        }
        self.entries.push((Credential::Token(token.into()), role));
        Ok(())
    }

    /// Adds a basic-auth user for `role`.
    pub fn add_user(
        &mut self,
        user: &str,
        password: &str,
        role: Role,
        from: &str,
    ) -> Result<(), String> {
        if user.is_empty() || user.contains(':') {
            return Err(format!(
                "{from}: a basic-auth user name must be non-empty and without ':'"
            ));
        }
        if password.is_empty() {
            return Err(format!("{from}: the password of user '{user}' is empty"));
        }
        self.entries.push((
            Credential::Basic {
                user: user.into(),
                password: password.into(),
            },
            role,
        ));
        Ok(())
    }

    /// Adds the credentials of a credentials file: one per line, `ROLE token SECRET` or
    /// `ROLE basic USER:PASSWORD`, `#` starts a comment. `file` names it in errors, which say
    /// the line but never echo a secret.
    pub fn add_file(&mut self, text: &str, file: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("{file}:{}", i + 1);
            // Fields are separated by runs of blanks, so columns may be aligned.
            let (role, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim_start();
            let (scheme, secret) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let secret = secret.trim();
            let role = Role::parse(role).ok_or_else(|| {
                format!("{at}: the role must be 'read-only' or 'operator', got '{role}' (a line is: ROLE token SECRET, or ROLE basic USER:PASSWORD)")
            })?;
            match scheme.to_ascii_lowercase().as_str() {
                "token" | "bearer" => self.add_token(secret, role, &at)?,
                "basic" => {
                    let (user, password) = secret
                        .split_once(':')
                        .ok_or_else(|| format!("{at}: a basic credential is USER:PASSWORD"))?;
                    self.add_user(user, password, role, &at)?
                }
                other => {
                    return Err(format!(
                        "{at}: the scheme must be 'token' or 'basic', got '{other}'"
                    ))
                }
            }
        }
        Ok(())
    }

    /// The role of the credential `authorization` carries, if it is one of these.
    fn role_of(&self, authorization: &str) -> Option<Role> {
        let (scheme, value) = authorization.trim().split_once(' ')?;
        let value = value.trim();
        let presented = if scheme.eq_ignore_ascii_case("bearer") {
            Credential::Token(value.to_string())
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (user, password) = text.split_once(':')?;
            Credential::Basic {
                user: user.into(),
                password: password.into(),
            }
        } else {
            return None;
        };
        // Every entry is compared in full, so the time taken says nothing about which matched.
        let mut best = None;
        for (accepted, role) in &self.entries {
            if same_credential(accepted, &presented) {
                best = best.max(Some(*role));
            }
        }
        best
    }
}

fn same_credential(a: &Credential, b: &Credential) -> bool {
    match (a, b) {
        (Credential::Token(x), Credential::Token(y)) => constant_time_eq(x, y),
        (
            Credential::Basic { user, password },
            Credential::Basic {
                user: u,
                password: p,
            },
        ) => constant_time_eq(user, u) & constant_time_eq(password, p),
        _ => false,
    }
}

/// Compares without an early exit, so the time taken does not reveal a secret's prefix.
fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Who may call one listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthPolicy {
    /// `None`: anyone (only allowed while the listener is on loopback, or when the operator
    /// says so).
    required: Option<Credentials>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVerdict {
    /// Serve it.
    Pass,
    /// 401: no credentials, or ones not accepted.
    Unauthorized(String),
    /// 403: a credential whose role may not do this.
    Forbidden(String),
}

impl AuthPolicy {
    /// Anyone may call.
    pub fn open() -> Self {
        Self { required: None }
    }

    /// Only holders of `credentials` may call (open if there are none).
    pub fn requiring(credentials: Credentials) -> Self {
        Self {
            required: (!credentials.is_empty()).then_some(credentials),
        }
    }

    pub fn is_open(&self) -> bool {
        self.required.is_none()
    }

    /// The verdict on a request with `method` and `headers`.
    pub fn decide(&self, method: &Method, headers: &HeaderMap) -> AuthVerdict {
        let Some(credentials) = &self.required else {
            return AuthVerdict::Pass;
        };
        // Browsers never send credentials on a CORS preflight (the Fetch standard), and OPTIONS
        // neither changes nor reveals anything here: the origin rules decide it, not this.
        if *method == Method::OPTIONS {
            return AuthVerdict::Pass;
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(presented) = presented else {
            return AuthVerdict::Unauthorized(
                "Authentication required: send 'Authorization: Bearer <token>' or basic-auth credentials.".into(),
            );
        };
        let Some(role) = credentials.role_of(presented) else {
            return AuthVerdict::Unauthorized(
                "The credentials sent are not accepted by this cluster.".into(),
            );
        };
        let needed = Role::needed_for(method);
        if role < needed {
            return AuthVerdict::Forbidden(format!(
                "A {} credential may not {method} here: it needs the {} role.",
                role.name(),
                needed.name()
            ));
        }
        AuthVerdict::Pass
    }

    /// The `WWW-Authenticate` challenges of a 401: basic only where users exist (so a
    /// browser shows its login prompt only when a login can work).
    fn challenges(&self) -> Vec<HeaderValue> {
        let Some(c) = &self.required else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if c.has_tokens() {
            out.push(HeaderValue::from_static("Bearer realm=\"weir\""));
        }
        if c.has_basic() {
            out.push(HeaderValue::from_static(
                "Basic realm=\"weir\", charset=\"UTF-8\"",
            ));
        }
        out
    }
}

/// How a listener words its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Flink's `{"errors": [...]}`.
    Flink,
    /// SeaTunnel's `{"status": "fail", "message": ...}`.
    SeaTunnel,
    /// Plain text (the Prometheus port).
    Text,
}

/// A listener's policy with its error style: the middleware's state.
#[derive(Debug, Clone)]
pub struct AuthGuard {
    pub policy: AuthPolicy,
    pub style: ErrorStyle,
}

impl AuthGuard {
    pub fn new(policy: AuthPolicy, style: ErrorStyle) -> Arc<Self> {
        Arc::new(Self { policy, style })
    }

    fn refusal(&self, status: StatusCode, message: String) -> Response {
        let mut r = match self.style {
            ErrorStyle::Flink => crate::error::RestError::new(status, message).into_response(),
            ErrorStyle::SeaTunnel => {
                crate::seatunnel::error::StError { status, message }.into_response()
            }
            ErrorStyle::Text => (status, message).into_response(),
        };
        if status == StatusCode::UNAUTHORIZED {
            for c in self.policy.challenges() {
                r.headers_mut().append(header::WWW_AUTHENTICATE, c);
            }
        }
        r
    }
}

impl AuthGuard {
    /// The policy applied to one request: `Break` is the refusal to answer instead.
    pub fn admit(&self, req: &Request) -> std::ops::ControlFlow<Response> {
        use std::ops::ControlFlow::{Break, Continue};
        match self.policy.decide(req.method(), req.headers()) {
            AuthVerdict::Pass => Continue(()),
            AuthVerdict::Unauthorized(m) => Break(self.refusal(StatusCode::UNAUTHORIZED, m)),
            AuthVerdict::Forbidden(m) => Break(self.refusal(StatusCode::FORBIDDEN, m)),
        }
    }
}

/// Applies the guard's policy to every request (the SeaTunnel and Prometheus servers; the
/// Flink server applies it in [`crate::flink_front::FlinkFront`]).
pub async fn guard(State(guard): State<Arc<AuthGuard>>, req: Request, next: Next) -> Response {
    match guard.admit(&req) {
        std::ops::ControlFlow::Continue(()) => next.run(req).await,
        std::ops::ControlFlow::Break(refusal) => refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: &str = "operator-token-0123456789";
    const RO: &str = "reader-token-0123456789ab";

    fn policy() -> AuthPolicy {
        let mut c = Credentials::default();
        c.add_file(
            &format!(
                "# who may do what\noperator token {OP}\nread-only   bearer {RO}\n\noperator basic admin:s3cret:with:colons\nread-only basic viewer:pw\n"
            ),
            "creds",
        )
        .unwrap();
        AuthPolicy::requiring(c)
    }

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    fn basic(user_password: &str) -> HeaderMap {
        with(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_password)
        ))
    }

    fn unauthorized(v: AuthVerdict) -> bool {
        matches!(v, AuthVerdict::Unauthorized(_))
    }

    #[test]
    fn an_open_policy_lets_everything_through() {
        let p = AuthPolicy::open();
        assert_eq!(
            p.decide(&Method::POST, &HeaderMap::new()),
            AuthVerdict::Pass
        );
        assert!(AuthPolicy::requiring(Credentials::default()).is_open());
    }

    #[test]
    fn options_needs_no_credentials_as_a_preflight_has_none() {
        assert_eq!(
            policy().decide(&Method::OPTIONS, &HeaderMap::new()),
            AuthVerdict::Pass
        );
    }

    #[test]
    fn no_or_wrong_credentials_are_401() {
        let p = policy();
        assert!(unauthorized(p.decide(&Method::GET, &HeaderMap::new())));
        assert!(unauthorized(
            p.decide(&Method::GET, &with("Bearer nope-nope-nope-nope"))
        ));
        assert!(unauthorized(
            p.decide(&Method::GET, &with(&format!("Bearer {OP}x")))
        ));
        assert!(unauthorized(p.decide(&Method::GET, &basic("admin:wrong"))));
        assert!(unauthorized(
            p.decide(&Method::GET, &with("Basic !!notbase64"))
        ));
        assert!(unauthorized(p.decide(&Method::GET, &with(OP))));
        // A token is not a password, nor the other way round.
        assert!(unauthorized(
            p.decide(&Method::GET, &basic(&format!("x:{OP}")))
        ));
        assert!(unauthorized(p.decide(&Method::GET, &with("Bearer pw"))));
    }

    #[test]
    fn read_only_reads_and_is_403_on_a_change() {
        let p = policy();
        for h in [with(&format!("Bearer {RO}")), basic("viewer:pw")] {
            assert_eq!(p.decide(&Method::GET, &h), AuthVerdict::Pass);
            assert_eq!(p.decide(&Method::HEAD, &h), AuthVerdict::Pass);
            for m in [Method::POST, Method::PATCH, Method::DELETE, Method::PUT] {
                let v = p.decide(&m, &h);
                assert!(
                    matches!(&v, AuthVerdict::Forbidden(msg) if msg.contains("operator")),
                    "{m}: {v:?}"
                );
            }
        }
    }

    #[test]
    fn operators_may_do_everything_and_schemes_are_case_blind() {
        let p = policy();
        for h in [
            with(&format!("Bearer {OP}")),
            with(&format!("bearer   {OP} ")),
            basic("admin:s3cret:with:colons"),
        ] {
            for m in [Method::GET, Method::POST, Method::DELETE, Method::PATCH] {
                assert_eq!(p.decide(&m, &h), AuthVerdict::Pass, "{m}");
            }
        }
    }

    #[test]
    fn challenges_offer_basic_only_when_users_exist() {
        let mut tokens = Credentials::default();
        tokens.add_token(OP, Role::Operator, "env").unwrap();
        let only_tokens = AuthPolicy::requiring(tokens);
        assert_eq!(
            only_tokens.challenges(),
            vec![HeaderValue::from_static("Bearer realm=\"weir\"")]
        );
        assert_eq!(policy().challenges().len(), 2);
    }

    #[test]
    fn bad_credentials_files_say_which_line_and_never_the_secret() {
        let mut c = Credentials::default();
        let e = c.add_file("operator token short", "f").unwrap_err();
        assert!(
            e.starts_with("f:1:") && e.contains("16") && !e.contains("short"),
            "{e}"
        );
        let e = c
            .add_file("\n# c\nboss token 0123456789abcdef0", "f")
            .unwrap_err();
        assert!(e.starts_with("f:3:") && e.contains("'boss'"), "{e}");
        let e = c.add_file("operator basic nocolon", "f").unwrap_err();
        assert!(e.contains("USER:PASSWORD"), "{e}");
        let e = c.add_file("operator basic bob:", "f").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = c.add_file("operator kerberos x", "f").unwrap_err();
        assert!(e.contains("'kerberos'"), "{e}");
        assert!(c.is_empty());
        let shown = format!("{:?}", policy());
        assert!(!shown.contains(OP) && !shown.contains("s3cret"), "{shown}");
    }
}
