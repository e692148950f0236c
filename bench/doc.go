// Package bench holds sessionkit's benchmarks against other session
// libraries: micro-benchmarks of one request through each middleware (go
// test -bench), the memory and Redis scale benchmarks, and, under cmd/, the
// end-to-end load benchmark that run.sh drives. See docs/BENCHMARKS.md.
//
// The module is separate from sessionkit's, so the libraries it compares
// against never enter sessionkit's dependencies.
package bench
