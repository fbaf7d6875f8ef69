// chainmail: wiring only; every subcommand lives in relay/cli/.
#include "relay/cli/cli.hpp"

int main(int argc, char** argv) {
    return chainmail::cli::run(argc, argv);
}
