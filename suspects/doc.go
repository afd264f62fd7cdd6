// Package suspects says what changed between a known-good and a bad
// commit, the way a team reviews it: one unit per merged or squashed pull
// request (or direct commit) on the bad side's first-parent line, with its
// files, added and deleted line counts and risk categories (migrations,
// dependencies, infrastructure, build, configuration, or the caller's own
// RiskRules).
//
// Find walks both sides from good and bad until what is left is common
// history, then diffs each unit's trees in parallel, reading objects
// through internal/packfile and go-git only for what is not packed.
package suspects
