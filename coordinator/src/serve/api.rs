//! The Jobs gRPC service: a thin layer that turns calls into [`Hub`] operations.

use super::hub::Hub;
use fanout_common::proto::jobs_server::Jobs;
use fanout_common::proto::{
    JobEvent, JobList, JobRef, JobStatus, ListJobs, ListWorkers, SubmitJob, WatchJob, WorkerList,
};
use std::sync::Arc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

pub struct JobsApi {
    pub hub: Arc<Hub>,
}

#[tonic::async_trait]
impl Jobs for JobsApi {
    type WatchStream = ReceiverStream<Result<JobEvent, Status>>;

    async fn submit(&self, request: Request<SubmitJob>) -> Result<Response<JobStatus>, Status> {
        self.hub
            .submit(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn watch(
        &self,
        request: Request<WatchJob>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let from = usize::try_from(request.from_record).unwrap_or(usize::MAX);
        self.hub.watch(&request.job_id, from).map(Response::new)
    }

    async fn get(&self, request: Request<JobRef>) -> Result<Response<JobStatus>, Status> {
        self.hub
            .get(&request.into_inner().job_id)
            .map(Response::new)
    }

    async fn list(&self, _: Request<ListJobs>) -> Result<Response<JobList>, Status> {
        Ok(Response::new(JobList {
            jobs: self.hub.list(),
        }))
    }

    async fn cancel(&self, request: Request<JobRef>) -> Result<Response<JobStatus>, Status> {
        let id = request.into_inner().job_id;
        self.hub.cancel(&id).await.map(Response::new)
    }

    async fn workers(&self, _: Request<ListWorkers>) -> Result<Response<WorkerList>, Status> {
        Ok(Response::new(WorkerList {
            workers: self.hub.shared().workers(),
        }))
    }
}
