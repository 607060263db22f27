// Package crashtest holds the crash tests of corebridge: they build the
// real bridge binary, run bridges as separate processes, append to them
// from many clients and kill them with SIGKILL at random moments, and then
// check that nothing a client was told is durable was lost, that every
// stored core still verifies against its key, that readers converge on
// the writer's tree, and that no plugin process outlives its bridge.
//
// The package has no code of its own; everything is in its tests:
//
//	go test ./crashtest -v
//	CRASHTEST_ROUNDS=30 CRASHTEST_SEED=42 go test ./crashtest -run TestCrashWriter -v
//
// RELIABILITY.md at the repository root says what the tests promise and
// reports their figures.
package crashtest
