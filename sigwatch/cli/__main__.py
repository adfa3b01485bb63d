from sigwatch.cli import run

run()
