package interop

// ICS-23 proofs of chimera-host's state store (host/src/state), checked the
// way a counterparty chain running ibc-go v7.4.1 checks them: the proof
// specs go into a 07-tendermint ClientState, the app hashes into its
// ConsensusStates, and every proof goes through ibc-go's MerkleProof
// verification, directly and through the ClientState's VerifyMembership /
// VerifyNonMembership. The fixture, testdata/state_proofs.json, is written
// from a real Storage by host/tests/state_store.rs
// (ibc_go_state_proof_fixture, which fails when the store's proofs change;
// CHIMERA_BLESS=1 regenerates it).

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/store/mem"
	sdk "github.com/cosmos/cosmos-sdk/types"
	clienttypes "github.com/cosmos/ibc-go/v7/modules/core/02-client/types"
	commitmenttypes "github.com/cosmos/ibc-go/v7/modules/core/23-commitment/types"
	host "github.com/cosmos/ibc-go/v7/modules/core/24-host"
	ibctm "github.com/cosmos/ibc-go/v7/modules/light-clients/07-tendermint"
	ics23 "github.com/cosmos/ics23/go"
)

const stateProofsFile = "testdata/state_proofs.json"

// Chimera's chain id in this test; revision 1, so heights are (1, version).
const stateChainID = "chimera-1"

type stateProofs struct {
	Description string           `json:"description"`
	Prefix      string           `json:"prefix"`
	Specs       []string         `json:"specs"`
	Cases       []stateProofCase `json:"cases"`
}

type stateProofCase struct {
	Version uint64  `json:"version"`
	AppHash string  `json:"app_hash"`
	Key     string  `json:"key"`
	Value   *string `json:"value"`
	Proof   string  `json:"proof"`
}

func unhex(t *testing.T, what, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return b
}

func TestStateProofs(t *testing.T) {
	raw, err := os.ReadFile(stateProofsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f stateProofs
	if err := strictDecode(raw, &f); err != nil {
		t.Fatalf("%s: %v", stateProofsFile, err)
	}
	if f.Prefix != "ibc" || len(f.Specs) != 2 || len(f.Cases) == 0 {
		t.Fatalf("%s: prefix %q, %d specs, %d cases", stateProofsFile, f.Prefix, len(f.Specs), len(f.Cases))
	}

	// The specs, as a relayer puts them in MsgCreateClient.
	var specs []*ics23.ProofSpec
	for i, s := range f.Specs {
		var spec ics23.ProofSpec
		if err := spec.Unmarshal(unhex(t, "spec", s)); err != nil {
			t.Fatalf("spec %d: %v", i, err)
		}
		specs = append(specs, &spec)
	}

	// The client state and one consensus state per version, stored as
	// ibc-go stores them (Any in the client's store).
	reg := codectypes.NewInterfaceRegistry()
	clienttypes.RegisterInterfaces(reg)
	ibctm.RegisterInterfaces(reg)
	cdc := codec.NewProtoCodec(reg)
	store := mem.NewStore()
	roots := map[uint64][]byte{}
	var latest uint64
	for _, c := range f.Cases {
		root := unhex(t, "app_hash", c.AppHash)
		if prev, ok := roots[c.Version]; ok && !bytes.Equal(prev, root) {
			t.Fatalf("version %d has two app hashes", c.Version)
		}
		if _, ok := roots[c.Version]; !ok {
			roots[c.Version] = root
			cons := ibctm.NewConsensusState(time.Unix(1_700_000_000+int64(c.Version), 0).UTC(),
				commitmenttypes.NewMerkleRoot(root), bytes.Repeat([]byte{0xaa}, 32))
			if err := cons.ValidateBasic(); err != nil {
				t.Fatalf("consensus state %d: %v", c.Version, err)
			}
			store.Set(host.ConsensusStateKey(clienttypes.NewHeight(1, c.Version)), clienttypes.MustMarshalConsensusState(cdc, cons))
		}
		if c.Version > latest {
			latest = c.Version
		}
	}
	if len(roots) < 2 {
		t.Fatalf("need cases at two versions at least, have %d", len(roots))
	}
	created := ibctm.NewClientState(stateChainID, ibctm.DefaultTrustLevel, 14*24*time.Hour, 21*24*time.Hour,
		10*time.Second, clienttypes.NewHeight(1, latest), specs, []string{"upgrade", "upgradedIBCState"})
	if err := created.Validate(); err != nil {
		t.Fatalf("ClientState.Validate: %v", err)
	}
	stored := clienttypes.MustMarshalClientState(cdc, created)
	cs, ok := clienttypes.MustUnmarshalClientState(cdc, stored).(*ibctm.ClientState)
	if !ok {
		t.Fatal("client state does not unpack to a 07-tendermint ClientState")
	}
	if err := cs.Validate(); err != nil {
		t.Fatalf("ClientState.Validate after the round trip: %v", err)
	}
	// Nothing of the specs is lost on the way (prehash_key_before_comparison
	// was added to ics23 late; a Go type without it would drop it).
	for i, spec := range cs.ProofSpecs {
		bz, err := spec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "ClientState.ProofSpecs after the round trip", bz, unhex(t, "spec", f.Specs[i]))
	}
	if !cs.ProofSpecs[0].PrehashKeyBeforeComparison {
		t.Fatal("spec 0: prehash_key_before_comparison is false")
	}

	ctx := sdk.Context{} // no delay periods: VerifyMembership does not read it
	prefix := commitmenttypes.NewMerklePrefix([]byte(f.Prefix))
	pathOf := func(p commitmenttypes.MerklePrefix, key string) commitmenttypes.MerklePath {
		path, err := commitmenttypes.ApplyPrefix(p, commitmenttypes.NewMerklePath(key))
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	present, absent := 0, 0
	for _, c := range f.Cases {
		name := fmt.Sprintf("v%d %s", c.Version, c.Key)
		proofBz := unhex(t, "proof", c.Proof)
		var proof commitmenttypes.MerkleProof
		if err := proof.Unmarshal(proofBz); err != nil {
			t.Fatalf("%s: MerkleProof: %v", name, err)
		}
		if err := proof.ValidateBasic(); err != nil {
			t.Fatalf("%s: MerkleProof.ValidateBasic: %v", name, err)
		}
		root := commitmenttypes.NewMerkleRoot(unhex(t, "app_hash", c.AppHash))
		wrongHash := unhex(t, "app_hash", c.AppHash)
		wrongHash[5] ^= 1
		wrongRoot := commitmenttypes.NewMerkleRoot(wrongHash)
		path := pathOf(prefix, c.Key)
		height := clienttypes.NewHeight(1, c.Version)
		// A version with another app hash: the proof must not verify there.
		var other clienttypes.Height
		for v, r := range roots {
			if !bytes.Equal(r, root.Hash) {
				other = clienttypes.NewHeight(1, v)
				break
			}
		}
		mustFail := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s: %s verified", name, what)
			}
		}

		if c.Value != nil {
			present++
			value := unhex(t, "value", *c.Value)
			if err := proof.VerifyMembership(cs.ProofSpecs, root, path, value); err != nil {
				t.Errorf("%s: MerkleProof.VerifyMembership: %v", name, err)
			}
			if err := cs.VerifyMembership(ctx, store, cdc, height, 0, 0, proofBz, path, value); err != nil {
				t.Errorf("%s: ClientState.VerifyMembership: %v", name, err)
			}
			wrong := append([]byte{}, value...)
			wrong[0] ^= 1
			mustFail("a wrong value", proof.VerifyMembership(cs.ProofSpecs, root, path, wrong))
			mustFail("a longer value", proof.VerifyMembership(cs.ProofSpecs, root, path, append(append([]byte{}, value...), 0)))
			mustFail("the value under a wrong root", proof.VerifyMembership(cs.ProofSpecs, wrongRoot, path, value))
			mustFail("the value under another key", proof.VerifyMembership(cs.ProofSpecs, root, pathOf(prefix, c.Key+"x"), value))
			mustFail("the value under another prefix",
				proof.VerifyMembership(cs.ProofSpecs, root, pathOf(commitmenttypes.NewMerklePrefix([]byte("transfer")), c.Key), value))
			mustFail("the absence of a present key", proof.VerifyNonMembership(cs.ProofSpecs, root, path))
			mustFail("ClientState: the absence of a present key", cs.VerifyNonMembership(ctx, store, cdc, height, 0, 0, proofBz, path))
			mustFail("ClientState: a wrong value", cs.VerifyMembership(ctx, store, cdc, height, 0, 0, proofBz, path, wrong))
			mustFail("ClientState: the value at another height", cs.VerifyMembership(ctx, store, cdc, other, 0, 0, proofBz, path, value))
		} else {
			absent++
			if err := proof.VerifyNonMembership(cs.ProofSpecs, root, path); err != nil {
				t.Errorf("%s: MerkleProof.VerifyNonMembership: %v", name, err)
			}
			if err := cs.VerifyNonMembership(ctx, store, cdc, height, 0, 0, proofBz, path); err != nil {
				t.Errorf("%s: ClientState.VerifyNonMembership: %v", name, err)
			}
			mustFail("the absence under a wrong root", proof.VerifyNonMembership(cs.ProofSpecs, wrongRoot, path))
			mustFail("the absence under another prefix",
				proof.VerifyNonMembership(cs.ProofSpecs, root, pathOf(commitmenttypes.NewMerklePrefix([]byte("transfer")), c.Key)))
			mustFail("a non-existence proof as membership", proof.VerifyMembership(cs.ProofSpecs, root, path, []byte{1}))
			mustFail("ClientState: the absence at another height", cs.VerifyNonMembership(ctx, store, cdc, other, 0, 0, proofBz, path))
		}
	}
	if present < 10 || absent < 10 {
		t.Errorf("too few cases: %d present, %d absent", present, absent)
	}
	t.Logf("ibc-go v7.4.1 verified %d membership and %d non-membership proofs of chimera-host's state store", present, absent)
}
