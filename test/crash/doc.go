// Package crash holds the crash test of the Vitals server: it runs
// "vitals serve" as a subprocess on the embedded store, ingests from
// concurrent clients that record every acknowledged event, kills the
// process with SIGKILL at random moments, and checks after the last
// restart that no acknowledged event was lost or stored twice, that no
// batch is partly visible, and that the projections equal a rebuild from
// zero.
//
// # Running
//
//	go test -race ./test/crash/                       # 20 cycles
//	go test -short ./test/crash/                      # 5 cycles
//	go test ./test/crash/ -crash.cycles=100 -v        # more cycles, totals in the log
//	go test ./test/crash/ -crash.seed=7               # another deterministic schedule
//
// The package has no code of its own: everything is in the test files. The
// test builds ./cmd/vitals with the go command on PATH.
package crash
