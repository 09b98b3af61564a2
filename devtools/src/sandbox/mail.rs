//! An SMTP sink: accepts every message (no TLS, no auth) and keeps it in memory and, when
//! given a folder, as `<n>.eml` files a developer can open. Enough of RFC 5321 for lettre
//! and common clients: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT.
//! Fault switches: [`MailSink::fail_rcpt`] refuses a recipient with a 4xx at RCPT for its
//! next N attempts (what a greylisting or overloaded server does), and counts them;
//! [`MailSink::set_latency`] makes each message take that long to be accepted.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// One received message: the envelope and the raw RFC 5322 text.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub raw: String,
}

/// A running sink. Cheap to clone; every clone sees the same mailbox.
#[derive(Clone)]
pub struct MailSink {
    addr: SocketAddr,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    faults: Arc<Mutex<Faults>>,
}

/// Recipients to refuse, and the refusals made.
#[derive(Default)]
struct Faults {
    /// Lower-cased address → RCPT attempts still to refuse.
    refuse: HashMap<String, u32>,
    /// Lower-cased address → RCPT attempts refused so far.
    refused: HashMap<String, u32>,
    /// How long accepting a message's data takes.
    latency: std::time::Duration,
}

impl Faults {
    /// Whether this RCPT of `address` is refused (and counts it).
    fn refuses(&mut self, address: &str) -> bool {
        let key = address.to_ascii_lowercase();
        match self.refuse.get_mut(&key) {
            Some(left) if *left > 0 => {
                *left -= 1;
                *self.refused.entry(key).or_default() += 1;
                true
            }
            _ => false,
        }
    }
}

impl MailSink {
    /// Listens on `addr` (port 0 picks a free one) and serves until the process ends.
    pub async fn start(addr: &str, folder: Option<PathBuf>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let sink = Self { addr: listener.local_addr()?, inbox: Arc::default(), faults: Arc::default() };
        if let Some(dir) = &folder {
            std::fs::create_dir_all(dir)?;
        }
        let (inbox, faults) = (sink.inbox.clone(), sink.faults.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (inbox, faults, folder) = (inbox.clone(), faults.clone(), folder.clone());
                tokio::spawn(async move {
                    if let Err(e) = session(stream, &inbox, &faults, folder.as_ref()).await {
                        tracing::debug!(error = %e, "sandbox smtp session ended");
                    }
                });
            }
        });
        Ok(sink)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().expect("inbox lock").clone()
    }

    /// Refuses `address` (any case) with `450` at RCPT for its next `times` attempts.
    pub fn fail_rcpt(&self, address: &str, times: u32) {
        self.faults.lock().expect("faults lock").refuse.insert(address.to_ascii_lowercase(), times);
    }

    /// Makes accepting each message's data take `latency` (a slow relay).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.faults.lock().expect("faults lock").latency = latency;
    }

    /// How many RCPT attempts of `address` were refused so far.
    pub fn refused(&self, address: &str) -> u32 {
        let faults = self.faults.lock().expect("faults lock");
        faults.refused.get(&address.to_ascii_lowercase()).copied().unwrap_or(0)
    }
}

async fn session(
    stream: TcpStream,
    inbox: &Mutex<Vec<ReceivedMail>>,
    faults: &Mutex<Faults>,
    folder: Option<&PathBuf>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 mujibak-sandbox ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-mujibak-sandbox\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO:") {
            let rcpt = address(&line);
            if faults.lock().expect("faults lock").refuses(&rcpt) {
                b"450 4.2.1 Mailbox temporarily unavailable, try again later\r\n"
            } else {
                to.push(rcpt);
                b"250 OK\r\n"
            }
        } else if command == "DATA" {
            write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
            let raw = read_data(&mut lines).await?;
            let latency = faults.lock().expect("faults lock").latency;
            tokio::time::sleep(latency).await;
            let mail = ReceivedMail { from: from.clone(), to: to.clone(), raw };
            store(inbox, folder, mail);
            b"250 OK queued\r\n"
        } else if command == "RSET" {
            from.clear();
            to.clear();
            b"250 OK\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut R) -> std::io::Result<String> {
    let mut raw = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 || line == ".\r\n" || line == ".\n" {
            return Ok(raw);
        }
        raw.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
    }
}

fn address(line: &str) -> String {
    let start = line.find('<').map(|i| i + 1).unwrap_or(0);
    let end = line[start..].find('>').map(|i| start + i).unwrap_or(line.len());
    line[start..end].trim().to_owned()
}

fn store(inbox: &Mutex<Vec<ReceivedMail>>, folder: Option<&PathBuf>, mail: ReceivedMail) {
    let mut inbox = inbox.lock().expect("inbox lock");
    if let Some(dir) = folder {
        let path = dir.join(format!("{:05}.eml", inbox.len() + 1));
        if let Err(e) = std::fs::write(&path, &mail.raw) {
            tracing::warn!(error = %e, "sandbox smtp: could not write the message file");
        }
    }
    tracing::info!(recipients = mail.to.len(), "sandbox smtp: message received");
    inbox.push(mail);
}
