// Package e2e is artprune's end-to-end suite. Its tests carry the e2e build tag, so `make test` neither runs them nor
// needs their tools; `make e2e` (run by .ci/run) builds bin/ and runs them:
//
//	go test -tags e2e -count=1 -v ./e2e/...
//
// TestArtprune starts the Artifactory emulator (bin/fakeartifactory) on loopback, pushes eight scenarios with the
// real clients (crane, regctl, skopeo), ages them with the emulator's clock, runs bin/artprune as a dry run and then
// with --delete, and proves with the same clients that every tag still pulls completely and every referrer of a
// live image is still listed and fetchable, that every folder the report deletes is gone and nothing else is.
//
// TestScriptComparison loads the same state into two fresh emulators, runs artprune on one and the shell script of
// skopeo#2497 (extracted from ../shared/seeds at test time) on the other, compares them folder by folder and checks
// docs/comparison.md against what it observed (E2E_UPDATE=1 rewrites it).
//
// TestArtpruneOnEveryEdition loads the same state into emulators run with --edition jcr, oss and saas and checks
// that artprune deletes exactly what the oracle says there too, and that the clients still pull every live tag;
// TestUnprovableListingsOnEveryEdition gives each edition (pro too) a user who may not see the indexes and a server
// trimming answers to one row, and checks nothing is deleted and the exit code is 1; TestDoctorOnEveryEdition runs
// artprune doctor with a scratch repository on each and checks it passes and leaves the state as it was.
//
// Environment: ARTPRUNE_BIN_DIR (default <repo>/bin), ARTPRUNE_SHARED (default <repo>/../shared, then /work/shared),
// E2E_UPDATE=1 (rewrite docs/comparison.md), E2E_KEEP=1 (keep the suite's temporary directory).
package e2e
