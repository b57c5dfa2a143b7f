//! `billing-admin`: see `lib.rs` for the commands and exit codes.

fn main() -> std::process::ExitCode {
    billing_admin::main()
}
