// Package swarm is a Docker Swarm service as a deploy target
// ("swarm://SERVICE"): the service's image, as its spec names it, set to
// the build by digest with one service update of the spec at the version
// read (the engine's own compare-and-swap), then watched until the engine
// says the rolling update completed and the service's running tasks run
// the build. An update that fails is rolled back to the previous spec, by
// the engine (lkg sets the update's failure action to rollback when the
// service names none) or, when the engine only paused it, by lkg.
//
// It speaks to the engine at DOCKER_HOST, which must be a Swarm manager.
// A spec that pins its image by digest (what `docker service create`
// writes) says what the service runs; one that names a tag only is read
// through the images of its running tasks on this engine.
package swarm
