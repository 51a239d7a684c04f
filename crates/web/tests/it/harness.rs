//! `TestApp`: the real router on 127.0.0.1:0 over a fresh database (a SQLite file in a
//! temporary directory, or a PostgreSQL schema of its own), driven over HTTP.

use std::path::PathBuf;
use std::sync::Arc;

use careloop_channels::{Accepted, Outbound, SendError, Transport};
use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::{Clock, ManualClock, Region};
use careloop_engine::{Clinic, Engine, Library, Settings, Transports};
use careloop_store::{Backend, MasterKey, Store};
use careloop_store_postgres::PgBackend;
use careloop_store_sqlite::SqliteBackend;
use careloop_web::{AppState, router};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "test-token-0123456789abcdef";
/// The Twilio auth token webhooks are verified with.
pub const TWILIO_AUTH_TOKEN: &str = "twilio-test-auth-token";
pub const EMAIL_INBOUND_SECRET: &str = "inbound-email-secret-0123";
pub const POSTGRES_URL: &str = "CARELOOP_TEST_POSTGRES_URL";
/// Set in CI so that the PostgreSQL half of the suite cannot be skipped by accident.
pub const REQUIRE_POSTGRES: &str = "CARELOOP_TEST_REQUIRE_POSTGRES";

#[derive(Clone)]
pub enum Db {
    Sqlite { dir: Arc<tempfile::TempDir> },
    Postgres { url: String, schema: String },
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub engine: Engine,
    /// What the engine sent, on every channel.
    pub sent: Arc<Recorder>,
    pub clock: Arc<ManualClock>,
    pub db: Db,
    pub master: MasterKey,
    server: tokio::task::JoinHandle<()>,
}

fn env(name: &str) -> Option<String> {
    #[expect(clippy::disallowed_methods, reason = "tests read their own switches")]
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl TestApp {
    pub async fn sqlite() -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        Self::start(Db::Sqlite { dir }, MasterKey::generate().unwrap()).await
    }

    /// `None` when no PostgreSQL is configured (and CI did not demand one).
    pub async fn postgres() -> Option<Self> {
        let Some(url) = env(POSTGRES_URL) else {
            assert!(
                env(REQUIRE_POSTGRES).is_none(),
                "{REQUIRE_POSTGRES} is set but {POSTGRES_URL} is not"
            );
            return None;
        };
        let schema = format!("careloop_test_{}", uuid::Uuid::new_v4().simple());
        PgBackend::create_schema(&url, &schema).await.unwrap();
        Some(Self::start(Db::Postgres { url, schema }, MasterKey::generate().unwrap()).await)
    }

    pub async fn start(db: Db, master: MasterKey) -> Self {
        let backend: Arc<dyn Backend> = match &db {
            Db::Sqlite { dir } => {
                let backend =
                    SqliteBackend::connect(&format!("sqlite://{}", sqlite_path(dir).display()))
                        .await
                        .unwrap();
                backend.migrate().await.unwrap();
                Arc::new(backend)
            }
            Db::Postgres { url, schema } => {
                let backend = PgBackend::connect_in_schema(url, schema).await.unwrap();
                backend.migrate().await.unwrap();
                Arc::new(backend)
            }
        };
        let clock = Arc::new(ManualClock::new("2026-03-02T08:00:00Z".parse().unwrap()));
        let store = Store::new(backend, &master, clock.clone() as Arc<dyn Clock>);
        store.init().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(Recorder::default());
        let settings = Settings::new(
            Clinic {
                name: "Riverside Clinic".to_owned(),
                phone: "+1 555 0100".to_owned(),
                zone: jiff::tz::TimeZone::get("America/New_York").unwrap(),
            },
            Region::default(),
        );
        let engine = Engine::new(
            store.clone(),
            Library::builtin().unwrap(),
            settings,
            Transports {
                sms: sent.clone(),
                email: sent.clone(),
            },
        );
        let state = AppState::new(engine.clone(), clock.as_ref(), &address, TOKEN)
            .with_twilio(TWILIO_AUTH_TOKEN)
            .with_email_inbound(EMAIL_INBOUND_SECRET);
        let server = tokio::spawn(async move {
            axum::serve(listener, router(state)).await.unwrap();
        });
        Self {
            address,
            client: reqwest::Client::new(),
            store,
            engine,
            sent,
            clock,
            db,
            master,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
    }

    pub async fn send(
        &self,
        request: RequestBuilder,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(self.request(Method::GET, path)).await;
        (status, body)
    }

    /// The resources a FHIR search finds (every entry of its first page); the search
    /// must succeed.
    pub async fn search(&self, path: &str) -> Vec<Value> {
        let (status, bundle) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"].clone())
            .collect()
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, body) = self
            .send(
                self.request(Method::POST, path)
                    .header("content-type", "application/fhir+json")
                    .json(body),
            )
            .await;
        (status, body)
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, body) = self
            .send(
                self.request(Method::PUT, path)
                    .header("content-type", "application/fhir+json")
                    .json(body),
            )
            .await;
        (status, body)
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        self.send(self.request(Method::DELETE, path)).await.0
    }

    /// Every byte the database holds for this app, as a backup would: the SQLite files,
    /// or a text dump of every PostgreSQL table.
    pub async fn raw_database(&self) -> Vec<u8> {
        match &self.db {
            Db::Sqlite { dir } => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(dir.path()).unwrap() {
                    bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
                }
                bytes
            }
            Db::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let mut dump = Vec::new();
                // Every table of careloop's (the migration ledger aside), so that a new
                // one cannot hide what it holds.
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = $1 AND table_name NOT LIKE '\\_sqlx%'",
                )
                .bind(schema)
                .fetch_all(&pool)
                .await
                .unwrap();
                assert!(tables.len() >= 6, "{tables:?}");
                for table in tables {
                    let sql = format!("SELECT * FROM \"{schema}\".\"{table}\"");
                    for row in sqlx::query(&sql).fetch_all(&pool).await.unwrap() {
                        dump_row(&row, &mut dump);
                    }
                }
                pool.close().await;
                dump
            }
        }
    }
}

impl TestApp {
    /// The resource each search term in the database belongs to, as `(type, id)`.
    pub async fn term_owners(&self) -> Vec<(String, String)> {
        let sql = "SELECT resource_type, resource_id FROM resource_terms";
        match &self.db {
            Db::Sqlite { dir } => {
                let url = format!("sqlite://{}", sqlite_path(dir).display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                let owners = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                owners
            }
            Db::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let sql = sql.replace("resource_terms", &format!("\"{schema}\".resource_terms"));
                let owners = sqlx::query_as(&sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                owners
            }
        }
    }
}

impl TestApp {
    /// Runs `sql` on the app's database as someone with direct access to it would, past
    /// careloop; `{schema}.` stands for the schema of the app's tables (nothing on
    /// SQLite). The database's own error, when it refuses.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match &self.db {
            Db::Sqlite { dir } => {
                let url = format!("sqlite://{}", sqlite_path(dir).display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                let done = sqlx::query(&sql.replace("{schema}.", ""))
                    .execute(&pool)
                    .await;
                pool.close().await;
                done.map(|d| d.rows_affected())
            }
            Db::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let done = sqlx::query(&sql.replace("{schema}.", &format!("\"{schema}\".")))
                    .execute(&pool)
                    .await;
                pool.close().await;
                done.map(|d| d.rows_affected())
            }
        }
    }
}

/// Every column of a row as its raw bytes: `bytea` as stored, text as UTF-8, numbers and
/// booleans as text.
fn dump_row(row: &sqlx::postgres::PgRow, out: &mut Vec<u8>) {
    use sqlx::Row;
    for i in 0..row.len() {
        if let Ok(bytes) = row.try_get::<Option<Vec<u8>>, _>(i) {
            out.extend(bytes.unwrap_or_default());
        } else if let Ok(text) = row.try_get::<Option<String>, _>(i) {
            out.extend(text.unwrap_or_default().into_bytes());
        } else if let Ok(number) = row.try_get::<Option<i64>, _>(i) {
            out.extend(
                number
                    .map(|n| n.to_string())
                    .unwrap_or_default()
                    .into_bytes(),
            );
        } else {
            let flag: Option<bool> = row.try_get(i).unwrap();
            out.extend(flag.map(|b| b.to_string()).unwrap_or_default().into_bytes());
        }
        out.push(b'\t');
    }
    out.push(b'\n');
}

fn sqlite_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("careloop.db")
}

/// A transport that keeps what it is given and answers as told.
#[derive(Default)]
pub struct Recorder {
    pub messages: std::sync::Mutex<Vec<Outbound>>,
    /// Answers for the next sends, in order; once they run out, every send is accepted.
    pub script: std::sync::Mutex<std::collections::VecDeque<Result<Accepted, SendError>>>,
}

impl Recorder {
    pub fn taken(&self) -> Vec<Outbound> {
        self.messages.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.messages.lock().unwrap().clear();
    }
}

#[async_trait::async_trait]
impl Transport for Recorder {
    async fn send(&self, message: &Outbound) -> Result<Accepted, SendError> {
        self.messages.lock().unwrap().push(message.clone());
        let scripted = self.script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| {
            Ok(Accepted {
                provider_id: format!("SM{}", message.id.replace('-', "")),
                status: DeliveryStatus::Accepted,
            })
        })
    }

    fn name(&self) -> &'static str {
        "recorder"
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Drops the PostgreSQL schema of a finished test.
pub async fn cleanup(app: TestApp) {
    if let Db::Postgres { url, schema } = &app.db {
        let (url, schema) = (url.clone(), schema.clone());
        drop(app);
        let _ = PgBackend::drop_schema(&url, &schema).await;
    }
}

/// Runs each named scenario as two tests: on SQLite, and on PostgreSQL when configured.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::harness::TestApp::sqlite().await;
                    super::$name(&app).await;
                    $crate::harness::cleanup(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(app) = $crate::harness::TestApp::postgres().await {
                        super::$name(&app).await;
                        $crate::harness::cleanup(app).await;
                    }
                }
            )*
        }
    };
}

pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// A resource without the server's `meta.versionId` and `meta.lastUpdated`.
pub fn without_server_meta(mut resource: Value) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            resource.as_object_mut().unwrap().remove("meta");
        }
    }
    resource
}
