fn main() -> std::process::ExitCode {
    mbnn::cli::main()
}
