//! `BlobClient`: the Rust client of BlobService, for the relayer, the CLI
//! and tests. Puts stream from bytes or any reader; gets stream into any
//! writer and re-hash what arrived, so a client never accepts bytes that do
//! not match the name it asked for.

use std::time::Duration;

use prost::bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::proto::blob_service_client::BlobServiceClient;
use super::proto::{self as pb};
use super::wire::{info_from_proto, PutOutcome, MAX_MESSAGE_BYTES};
use super::{BlobHash, BlobInfo};

/// Bytes per Put message.
pub const PUT_PIECE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the blob service at {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    /// The server found stored bytes that fail their integrity check.
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("blob service: {message} ({code:?})")]
    Status { code: Code, message: String },
    #[error("received bytes hash to {actual}, not the requested {expected}")]
    HashMismatch { expected: BlobHash, actual: BlobHash },
    #[error("received {got} bytes where the blob has {expected}")]
    SizeMismatch { expected: u64, got: u64 },
    #[error("invalid response from the blob service: {0}")]
    Protocol(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<Status> for ClientError {
    fn from(s: Status) -> Self {
        let message = one_line(s.message());
        match s.code() {
            Code::NotFound => ClientError::NotFound(message),
            Code::ResourceExhausted => ClientError::TooLarge(message),
            Code::DataLoss => ClientError::Corrupt(message),
            Code::OutOfRange => ClientError::OutOfRange(message),
            code => ClientError::Status { code, message },
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error and its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    one_line(&out)
}

#[derive(Clone)]
pub struct BlobClient {
    inner: BlobServiceClient<Channel>,
}

impl BlobClient {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:9690`).
    pub async fn connect(endpoint: &str) -> Result<Self, ClientError> {
        let err = |detail: String| ClientError::Connect {
            endpoint: endpoint.to_string(),
            detail,
        };
        let ep = Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| err(chain(&e)))?
            .connect_timeout(Duration::from_secs(10));
        let channel = ep.connect().await.map_err(|e| err(chain(&e)))?;
        Ok(Self::new(channel))
    }

    pub fn new(channel: Channel) -> Self {
        BlobClient {
            inner: BlobServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        }
    }

    /// Puts `data`; checks the server's hash against our own.
    pub async fn put_bytes(
        &mut self,
        data: impl Into<Bytes>,
        encoding: &str,
    ) -> Result<PutOutcome, ClientError> {
        let data: Bytes = data.into();
        let local = BlobHash::of(&data);
        let mut msgs = vec![pb::PutRequest {
            encoding: encoding.to_string(),
            data: Bytes::new(),
        }];
        let mut at = 0;
        while at < data.len() {
            let end = (at + PUT_PIECE).min(data.len());
            msgs.push(pb::PutRequest {
                encoding: String::new(),
                data: data.slice(at..end),
            });
            at = end;
        }
        let resp = self.inner.put(tokio_stream::iter(msgs)).await?.into_inner();
        check_put(resp, local, data.len() as u64)
    }

    /// Streams everything `reader` yields (one piece in memory at a time).
    /// A read error cancels the call, so the server stores nothing.
    pub async fn put_reader<R>(&mut self, mut reader: R, encoding: &str) -> Result<PutOutcome, ClientError>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<pb::PutRequest>(4);
        let (done_tx, done_rx) = oneshot::channel::<std::io::Result<(BlobHash, u64)>>();
        let first = pb::PutRequest {
            encoding: encoding.to_string(),
            data: Bytes::new(),
        };
        let feeder = tokio::spawn(async move {
            if tx.send(first).await.is_err() {
                return;
            }
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let mut buf = vec![0u8; PUT_PIECE];
                let n = match read_full(&mut reader, &mut buf).await {
                    Ok(n) => n,
                    Err(e) => {
                        // Keep the request stream open: ending it would
                        // commit a truncated blob. The caller cancels.
                        let _ = done_tx.send(Err(e));
                        tx.closed().await;
                        return;
                    }
                };
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                hasher.update(&buf);
                size += n as u64;
                if tx
                    .send(pb::PutRequest {
                        encoding: String::new(),
                        data: buf.into(),
                    })
                    .await
                    .is_err()
                {
                    return; // call over (the server refused)
                }
            }
            let _ = done_tx.send(Ok((BlobHash(hasher.finalize().into()), size)));
        });
        let mut inner = self.inner.clone();
        let call = inner.put(ReceiverStream::new(rx));
        tokio::pin!(call);
        let mut done_rx = done_rx;
        let result = tokio::select! {
            resp = &mut call => match resp {
                Err(s) => Err(ClientError::from(s)),
                Ok(resp) => match (&mut done_rx).await {
                    Ok(Ok((local, size))) => check_put(resp.into_inner(), local, size),
                    Ok(Err(e)) => Err(e.into()),
                    Err(_) => Err(ClientError::Protocol("put answered before the upload ended".into())),
                },
            },
            done = &mut done_rx => match done {
                Ok(Err(e)) => Err(ClientError::Io(e)), // dropping `call` cancels it
                Ok(Ok((local, size))) => match call.await {
                    Ok(resp) => check_put(resp.into_inner(), local, size),
                    Err(s) => Err(s.into()),
                },
                Err(_) => Err(ClientError::Protocol("upload task ended unexpectedly".into())),
            },
        };
        feeder.abort();
        result
    }

    /// Streams the whole blob into `out`, re-hashing it; returns its
    /// metadata. On `HashMismatch` or `SizeMismatch` `out` holds bytes that
    /// must not be used (write to a temporary file and rename on success).
    pub async fn get_to<W: AsyncWrite + Unpin>(
        &mut self,
        hash: &BlobHash,
        out: &mut W,
    ) -> Result<BlobInfo, ClientError> {
        let mut hasher = Sha256::new();
        let (info, got) = self.get_inner(hash, 0, 0, out, Some(&mut hasher)).await?;
        if got != info.size {
            return Err(ClientError::SizeMismatch {
                expected: info.size,
                got,
            });
        }
        let actual = BlobHash(hasher.finalize().into());
        if actual != *hash {
            return Err(ClientError::HashMismatch {
                expected: *hash,
                actual,
            });
        }
        Ok(info)
    }

    /// Streams bytes `[offset, offset + length)` (`length` `None`: to the
    /// end) into `out`; returns the blob's metadata and the byte count. A
    /// range cannot be re-hashed here: the server verifies every chunk it
    /// reads against its recorded hash.
    pub async fn get_range_to<W: AsyncWrite + Unpin>(
        &mut self,
        hash: &BlobHash,
        offset: u64,
        length: Option<u64>,
        out: &mut W,
    ) -> Result<(BlobInfo, u64), ClientError> {
        if length == Some(0) {
            return Ok((self.stat(hash).await?, 0));
        }
        let (info, got) = self
            .get_inner(hash, offset, length.unwrap_or(0), out, None)
            .await?;
        let expected = length.unwrap_or(info.size.saturating_sub(offset));
        if got != expected {
            return Err(ClientError::SizeMismatch { expected, got });
        }
        Ok((info, got))
    }

    /// The whole blob in memory, verified.
    pub async fn get_bytes(&mut self, hash: &BlobHash) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        self.get_to(hash, &mut out).await?;
        Ok(out)
    }

    async fn get_inner<W: AsyncWrite + Unpin>(
        &mut self,
        hash: &BlobHash,
        offset: u64,
        length: u64,
        out: &mut W,
        mut hasher: Option<&mut Sha256>,
    ) -> Result<(BlobInfo, u64), ClientError> {
        let req = pb::GetRequest {
            sha256: hash.0.to_vec(),
            offset,
            length,
        };
        let mut stream = self.inner.get(req).await?.into_inner();
        let mut info = None;
        let mut got = 0u64;
        while let Some(msg) = stream.message().await? {
            if let Some(i) = &msg.info {
                let i = info_from_proto(i).map_err(|e| ClientError::Protocol(e.to_string()))?;
                if i.hash != *hash {
                    return Err(ClientError::Protocol(format!(
                        "asked for {hash}, got metadata of {}",
                        i.hash
                    )));
                }
                info = Some(i);
            } else if info.is_none() {
                return Err(ClientError::Protocol("first message has no metadata".into()));
            }
            if let Some(h) = hasher.as_deref_mut() {
                h.update(&msg.data);
            }
            got += msg.data.len() as u64;
            out.write_all(&msg.data).await?;
        }
        out.flush().await?;
        let info = info.ok_or_else(|| ClientError::Protocol("empty response".into()))?;
        Ok((info, got))
    }

    pub async fn stat(&mut self, hash: &BlobHash) -> Result<BlobInfo, ClientError> {
        let resp = self
            .inner
            .stat(pb::StatRequest {
                sha256: hash.0.to_vec(),
            })
            .await?
            .into_inner();
        let info = resp
            .info
            .ok_or_else(|| ClientError::Protocol("stat without metadata".into()))?;
        info_from_proto(&info).map_err(|e| ClientError::Protocol(e.to_string()))
    }
}

fn check_put(resp: pb::PutResponse, local: BlobHash, size: u64) -> Result<PutOutcome, ClientError> {
    let hash = BlobHash::from_slice(&resp.sha256).map_err(|e| ClientError::Protocol(e.to_string()))?;
    if hash != local {
        return Err(ClientError::HashMismatch {
            expected: local,
            actual: hash,
        });
    }
    if resp.size != size {
        return Err(ClientError::SizeMismatch {
            expected: size,
            got: resp.size,
        });
    }
    Ok(PutOutcome {
        hash,
        size,
        created: resp.created,
    })
}

/// Reads until `buf` is full or the reader ends.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).await? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
