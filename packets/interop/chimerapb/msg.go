// Hand-written (not generated): what a Cosmos SDK v0.47 chain adds so that
// MsgRunInference and MsgRegisterExecutorKey are sdk.Msg, which the ICS-27
// host's codec needs to unpack them from a CosmosTx. Signer checks are the
// host's business and out of scope here.
package chimera_inference_v1

import sdk "github.com/cosmos/cosmos-sdk/types"

func (m *MsgRunInference) ValidateBasic() error         { return nil }
func (m *MsgRunInference) GetSigners() []sdk.AccAddress { return nil }

func (m *MsgRegisterExecutorKey) ValidateBasic() error         { return nil }
func (m *MsgRegisterExecutorKey) GetSigners() []sdk.AccAddress { return nil }
