//! A local SMTP server for tests: it speaks just enough SMTP (greeting, EHLO, AUTH, MAIL,
//! RCPT, DATA, QUIT) on 127.0.0.1, records what it is told, and answers each step as the
//! test's script says: an OK, a refusal, a closed connection, or silence.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the sink answers one step.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// The usual positive reply for the step.
    Ok,
    /// This reply line instead, e.g. `550 5.1.1 no such mailbox`.
    Reply(&'static str),
    /// Close the connection without a word.
    Close,
    /// Say nothing and keep the connection open.
    Hang,
}

#[derive(Clone, Copy, Debug)]
pub struct Script {
    pub greeting: Answer,
    /// The extensions EHLO lists after the first line.
    pub extensions: &'static [&'static str],
    pub mail: Answer,
    pub rcpt: Answer,
    pub data: Answer,
    /// The answer to the message's final `.`.
    pub end_of_data: Answer,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            greeting: Answer::Ok,
            extensions: &["8BITMIME", "SMTPUTF8", "AUTH PLAIN LOGIN"],
            mail: Answer::Ok,
            rcpt: Answer::Ok,
            data: Answer::Ok,
            end_of_data: Answer::Ok,
        }
    }
}

/// What the sink was told.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub connections: usize,
    /// Every command line, as sent.
    pub commands: Vec<String>,
    /// Each message's content, dot-unstuffed, CRLF line endings.
    pub messages: Vec<String>,
}

pub struct Sink {
    pub address: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl Sink {
    pub async fn start(script: Script) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.lock().unwrap().connections += 1;
                tokio::spawn(session(stream, script, Arc::clone(&shared)));
            }
        });
        Sink { address, log }
    }

    /// `smtp://127.0.0.1:{port}` plus `rest` (a query, say).
    pub fn url(&self, rest: &str) -> String {
        format!("smtp://{}{rest}", self.address)
    }

    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

/// What a step's answer means for the session.
enum Next {
    Go,
    Stop,
}

async fn answer(stream: &mut (impl AsyncWriteExt + Unpin), answer: Answer, ok: &str) -> Next {
    match answer {
        Answer::Ok => reply(stream, ok).await,
        Answer::Reply(line) => reply(stream, line).await,
        Answer::Close => Next::Stop,
        Answer::Hang => std::future::pending().await,
    }
}

async fn reply(stream: &mut (impl AsyncWriteExt + Unpin), line: &str) -> Next {
    match stream.write_all(format!("{line}\r\n").as_bytes()).await {
        Ok(()) => Next::Go,
        Err(_) => Next::Stop,
    }
}

async fn session(stream: TcpStream, script: Script, log: Arc<Mutex<Log>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if let Next::Stop = answer(&mut write, script.greeting, "220 sink.test ESMTP").await {
        return;
    }
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        log.lock().unwrap().commands.push(command.clone());
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let next = match verb.as_str() {
            "EHLO" => {
                let mut ehlo = String::from("250-sink.test");
                for extension in script.extensions {
                    ehlo.push_str(&format!("\r\n250-{extension}"));
                }
                ehlo.push_str("\r\n250 HELP");
                reply(&mut write, &ehlo).await
            }
            "AUTH" => reply(&mut write, "235 2.7.0 authenticated").await,
            "MAIL" => answer(&mut write, script.mail, "250 2.1.0 ok").await,
            "RCPT" => answer(&mut write, script.rcpt, "250 2.1.5 ok").await,
            "DATA" => match answer(&mut write, script.data, "354 go ahead").await {
                Next::Go if matches!(script.data, Answer::Ok) => {
                    let message = read_message(&mut lines).await;
                    log.lock().unwrap().messages.push(message);
                    answer(&mut write, script.end_of_data, "250 2.0.0 queued").await
                }
                next => next,
            },
            "QUIT" => {
                reply(&mut write, "221 2.0.0 bye").await;
                return;
            }
            "RSET" | "NOOP" => reply(&mut write, "250 2.0.0 ok").await,
            _ => reply(&mut write, "502 5.5.2 not implemented").await,
        };
        if let Next::Stop = next {
            return;
        }
    }
}

/// The lines up to the lone `.`, with leading dots unstuffed.
async fn read_message(lines: &mut (impl AsyncBufReadExt + Unpin)) -> String {
    let mut message = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 || line == ".\r\n" {
            return message;
        }
        message.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}
