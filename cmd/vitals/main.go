// Command vitals is the Vitals account-health engine: the server and its
// command-line tools.
//
// Usage:
//
//	vitals serve   [--addr 127.0.0.1:8080] [--data-dir ./vitals-data] [--demo]
//	vitals emit    [--server URL] [--token KEY] [FILE|-]
//	vitals demo    [--seed N] [--accounts N] [--managers N] [--months N] [--server URL]
//	vitals rebuild [--data-dir ./vitals-data]
//	vitals verify  [--data-dir ./vitals-data]
//	vitals version
//	vitals help    [command]
//
// Every flag can also be set in the environment as VITALS_<FLAG>, with
// dashes as underscores (VITALS_DATA_DIR); a flag on the command line wins.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	code := app.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
