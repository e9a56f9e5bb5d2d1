#!/usr/bin/env bash
# The wasm32 toolchain for CosmWasm contracts and the wasm build of
# chimera-packets (../shared/wasm-toolchain.md): rustup here has only the
# x86_64 target, so we use Debian's rustc-web (Rust 1.96 with its std
# source) and build std with -Zbuild-std. lld-22 provides /usr/bin/rust-lld.
#
# Then cosmwasm-check 1.5.11 (optional: a failed build only logs) and the
# Terra Classic contract's .wasm, cached under $CHIMERA_CACHE/wasm/ keyed by
# the hash of its sources (scripts/wasm-build --contract prints its path).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
# binaryen: wasm-opt, which makes the contract about 17% smaller.
apt_ensure wasm rustc-web cargo-web rust-web-src lld-22 binaryen
[ -x /usr/bin/rust-lld ] || die "wasm: /usr/bin/rust-lld missing after installing lld-22"
log "wasm: $(/usr/bin/rustc --version) with rust-lld"

COSMWASM_CHECK_VERSION="${COSMWASM_CHECK_VERSION:-1.5.11}"

# cosmwasm-check 1.5.x (wasmer_vm 4.2) links `__rust_probestack`, which Rust
# >= 1.89 no longer exports (CosmWasm/cosmwasm#2543): we provide that one
# symbol from a small assembly object, as compiler-builtins defined it.
install_cosmwasm_check() {
  local dir="$CHIMERA_CACHE/cosmwasm-check-$COSMWASM_CHECK_VERSION"
  local obj="$dir/probestack.o"
  mkdir -p "$dir"
  if [ ! -s "$obj" ]; then
    cat >"$dir/probestack.S" <<'EOF'
    .text
    .globl __rust_probestack
    .type __rust_probestack,@function
    .p2align 4
__rust_probestack:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_offset %rbp, -16
    movq %rsp, %rbp
    .cfi_def_cfa_register %rbp
    mov %rax, %r11
    cmp $0x1000, %r11
    jna 3f
2:
    sub $0x1000, %rsp
    test %rsp, 8(%rsp)
    sub $0x1000, %r11
    cmp $0x1000, %r11
    ja 2b
3:
    sub %r11, %rsp
    test %rsp, 8(%rsp)
    add %rax, %rsp
    leave
    .cfi_def_cfa_register %rsp
    .cfi_adjust_cfa_offset -8
    ret
    .cfi_endproc
    .size __rust_probestack, . - __rust_probestack
    .section .note.GNU-stack,"",@progbits
EOF
    cc -c "$dir/probestack.S" -o "$obj"
  fi
  RUSTFLAGS="-C link-arg=$obj" cargo_install_cached cosmwasm-check cosmwasm-check \
    "$COSMWASM_CHECK_VERSION" cosmwasm-check
}
( install_cosmwasm_check ) \
  || log "wasm: cosmwasm-check $COSMWASM_CHECK_VERSION did not build; contracts will not be checked"

# The Terra Classic contract (contracts/inference-requester), checked with
# cosmwasm-check when it is installed.
wasm="$("$CHIMERA_ROOT/scripts/wasm-build" --contract inference-requester)"
log "wasm: contract $wasm ($(stat -c %s "$wasm") bytes)"
