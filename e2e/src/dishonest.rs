//! A dishonest blob node: a real BlobService (`chimera.blob.v1`) on
//! loopback that answers every `Get` with what an honest node holds, one
//! byte flipped in the middle, and every `Stat` truthfully, as a node that
//! lies about outputs would. Clients must refuse its bytes: the commitment
//! in the acknowledgement, not the node, says what the output is.

use std::net::SocketAddr;

use chimera_host::blob::proto::blob_service_client::BlobServiceClient;
use chimera_host::blob::proto::blob_service_server::{BlobService, BlobServiceServer};
use chimera_host::blob::proto::{self as pb};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};

/// The running dishonest node; stops when dropped.
pub struct DishonestBlobNode {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

struct Tampering {
    honest: String,
}

impl Tampering {
    async fn client(&self) -> Result<BlobServiceClient<tonic::transport::Channel>, Status> {
        BlobServiceClient::connect(self.honest.clone())
            .await
            .map(|c| c.max_decoding_message_size(usize::MAX))
            .map_err(|e| Status::unavailable(format!("honest node: {e}")))
    }
}

#[tonic::async_trait]
impl BlobService for Tampering {
    async fn put(&self, _: Request<Streaming<pb::PutRequest>>) -> Result<Response<pb::PutResponse>, Status> {
        Err(Status::unimplemented("this node only serves"))
    }

    type GetStream = tokio_stream::Iter<std::vec::IntoIter<Result<pb::GetResponse, Status>>>;

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<Self::GetStream>, Status> {
        let mut stream = self.client().await?.get(request.into_inner()).await?.into_inner();
        let mut messages = Vec::new();
        let mut flipped = false;
        while let Some(mut m) = stream.message().await? {
            if !flipped && !m.data.is_empty() {
                let mut data = m.data.to_vec();
                let mid = data.len() / 2;
                data[mid] ^= 0x01;
                m.data = data.into();
                flipped = true;
            }
            messages.push(Ok(m));
        }
        Ok(Response::new(tokio_stream::iter(messages)))
    }

    async fn stat(&self, request: Request<pb::StatRequest>) -> Result<Response<pb::StatResponse>, Status> {
        self.client().await?.stat(request.into_inner()).await
    }
}

impl DishonestBlobNode {
    /// Serves on a free loopback port, lying about what `honest` (a node's
    /// gRPC URL, e.g. `http://127.0.0.1:9091`) holds. Runs on the current
    /// tokio runtime.
    pub async fn start(honest: &str) -> std::io::Result<DishonestBlobNode> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let service = BlobServiceServer::new(Tampering {
            honest: honest.to_string(),
        })
        .max_encoding_message_size(usize::MAX);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async {
                        let _ = stopped.await;
                    },
                ),
        );
        Ok(DishonestBlobNode {
            addr,
            stop: Some(stop),
        })
    }

    /// Its gRPC URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DishonestBlobNode {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
