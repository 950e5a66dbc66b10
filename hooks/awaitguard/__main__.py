from awaitguard.cli import run

run()
