// Package container is a Docker container as a deploy target
// ("docker://NAME"): a container on the engine at DOCKER_HOST, recreated
// from the build by digest with the configuration it has (environment,
// mounts, networks, ports, restart policy, labels, compose's labels
// included), less the values that were only its old image's defaults.
//
// A move never leaves the name without a container to go back to: the
// old container is renamed NAME-lkg-old-<short id> and stopped, the new
// one created and started under NAME, and the old one removed only once
// the new one is healthy. When the new one does not come up, or the move
// is interrupted half-way, the new one is removed and the old one renamed
// back and started, with a context of its own: Ctrl-C leaves exactly one
// container running under NAME.
//
// A compose service ("compose://PROJECT/SERVICE", Service) is every
// container compose's labels put in it, moved one at a time by the same
// rules; the old containers are all kept until every new one is up, so
// that a failure or an interrupt puts the whole service back.
package container
