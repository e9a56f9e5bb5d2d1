//! `cosmos.staking.v1beta1.Query/Params`, the one staking query relayers
//! need from a chain without an SDK staking module: Hermes derives client
//! trusting periods from `unbonding_time` and refuses chains that keep no
//! `historical_entries`. Validators come from CometBFT (the tendermint
//! service); the rest of the staking queries are unimplemented.

use ibc_proto::cosmos::staking::v1beta1::query_server::Query;
use ibc_proto::cosmos::staking::v1beta1::*;
use ibc_proto::google::protobuf::Duration;
use tonic::{Request, Response, Status};

use super::error::{QResult, QueryError};
use super::read::{self, QueryCtx};
use crate::chain::params::Params as ChainParams;
use crate::chain::params::StateParams;
use crate::state::Snapshot;

/// The chain params, which every query about fees or staking reads.
pub fn chain_params(snap: &Snapshot) -> QResult<ChainParams> {
    ChainParams::load_committed(snap)?.ok_or_else(|| {
        QueryError::new(
            tonic::Code::FailedPrecondition,
            "chain params are not in state: no genesis committed yet",
        )
    })
}

/// `Query/Params`: the unbonding time and bond denom from the chain params;
/// the rest are the SDK's defaults except `historical_entries`, which is
/// what Hermes's health check requires to be non-zero.
pub fn query_params(_: &QueryCtx, snap: &Snapshot, _: QueryParamsRequest) -> QResult<QueryParamsResponse> {
    let p = chain_params(snap)?;
    Ok(QueryParamsResponse {
        params: Some(Params {
            unbonding_time: Some(Duration {
                seconds: i64::try_from(p.unbonding_time_secs).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            max_validators: 100,
            max_entries: 7,
            historical_entries: 10_000,
            bond_denom: p.fee_denom,
            min_commission_rate: "0".into(),
        }),
    })
}

/// The tonic service.
#[derive(Clone)]
pub struct StakingQuery(pub QueryCtx);

fn unimplemented(method: &str) -> Status {
    QueryError::unimplemented(&format!("cosmos.staking.v1beta1.Query/{method}")).into()
}

#[tonic::async_trait]
impl Query for StakingQuery {
    async fn validators(
        &self,
        _: Request<QueryValidatorsRequest>,
    ) -> Result<Response<QueryValidatorsResponse>, Status> {
        Err(unimplemented("Validators"))
    }

    async fn validator(
        &self,
        _: Request<QueryValidatorRequest>,
    ) -> Result<Response<QueryValidatorResponse>, Status> {
        Err(unimplemented("Validator"))
    }

    async fn validator_delegations(
        &self,
        _: Request<QueryValidatorDelegationsRequest>,
    ) -> Result<Response<QueryValidatorDelegationsResponse>, Status> {
        Err(unimplemented("ValidatorDelegations"))
    }

    async fn validator_unbonding_delegations(
        &self,
        _: Request<QueryValidatorUnbondingDelegationsRequest>,
    ) -> Result<Response<QueryValidatorUnbondingDelegationsResponse>, Status> {
        Err(unimplemented("ValidatorUnbondingDelegations"))
    }

    async fn delegation(
        &self,
        _: Request<QueryDelegationRequest>,
    ) -> Result<Response<QueryDelegationResponse>, Status> {
        Err(unimplemented("Delegation"))
    }

    async fn unbonding_delegation(
        &self,
        _: Request<QueryUnbondingDelegationRequest>,
    ) -> Result<Response<QueryUnbondingDelegationResponse>, Status> {
        Err(unimplemented("UnbondingDelegation"))
    }

    async fn delegator_delegations(
        &self,
        _: Request<QueryDelegatorDelegationsRequest>,
    ) -> Result<Response<QueryDelegatorDelegationsResponse>, Status> {
        Err(unimplemented("DelegatorDelegations"))
    }

    async fn delegator_unbonding_delegations(
        &self,
        _: Request<QueryDelegatorUnbondingDelegationsRequest>,
    ) -> Result<Response<QueryDelegatorUnbondingDelegationsResponse>, Status> {
        Err(unimplemented("DelegatorUnbondingDelegations"))
    }

    async fn redelegations(
        &self,
        _: Request<QueryRedelegationsRequest>,
    ) -> Result<Response<QueryRedelegationsResponse>, Status> {
        Err(unimplemented("Redelegations"))
    }

    async fn delegator_validators(
        &self,
        _: Request<QueryDelegatorValidatorsRequest>,
    ) -> Result<Response<QueryDelegatorValidatorsResponse>, Status> {
        Err(unimplemented("DelegatorValidators"))
    }

    async fn delegator_validator(
        &self,
        _: Request<QueryDelegatorValidatorRequest>,
    ) -> Result<Response<QueryDelegatorValidatorResponse>, Status> {
        Err(unimplemented("DelegatorValidator"))
    }

    async fn historical_info(
        &self,
        _: Request<QueryHistoricalInfoRequest>,
    ) -> Result<Response<QueryHistoricalInfoResponse>, Status> {
        Err(unimplemented("HistoricalInfo"))
    }

    async fn pool(&self, _: Request<QueryPoolRequest>) -> Result<Response<QueryPoolResponse>, Status> {
        Err(unimplemented("Pool"))
    }

    async fn params(
        &self,
        req: Request<QueryParamsRequest>,
    ) -> Result<Response<QueryParamsResponse>, Status> {
        read::grpc(&self.0, req, query_params).await
    }
}
