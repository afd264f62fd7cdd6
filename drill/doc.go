// Package drill is lkg check: the restore drill a scheduled CI job runs
// before any outage. For the last few known-good tags it asks what an
// outage would ask (is there a build, can the registry still serve every
// part of it for the platforms production runs, would the deploy plan go
// through, can the code be rebuilt) and answers with a Report.
//
// It takes find's answer (a finder.Result) as input rather than running
// find, as deploy does; the caller decides how the search is made.
package drill
