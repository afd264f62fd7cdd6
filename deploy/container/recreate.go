package container

import (
	"maps"
	"slices"
	"strings"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// composeLabel is the prefix of the labels docker compose puts on the
// containers it manages: kept whatever the images say, so that `docker
// compose ps` still lists the recreated container.
const composeLabel = "com.docker.compose."

// spec is what a new container is created with.
type spec struct {
	config  *ctypes.Config
	host    *ctypes.HostConfig
	network *network.NetworkingConfig
	// more are the networks beyond the first, connected after create (an
	// engine before API 1.44 takes one network at create).
	more map[string]*network.EndpointSettings
}

// recreate is the configuration of old, a container, for a new container
// of image: the same environment, command, mounts, networks, ports,
// restart policy and labels, except the values old only had because its
// image (oldImage, nil when it is gone) set them as defaults. Those are
// left out, so the new image brings its own, as Watchtower does: a new
// build whose PATH, CMD or HEALTHCHECK changed runs with them, not with
// the old build's.
func recreate(old ctypes.InspectResponse, oldImage *dockerspec.DockerOCIImageConfig, image string) spec {
	c := *old.Config
	c.Image = image
	var img dockerspec.DockerOCIImageConfig
	if oldImage != nil {
		img = *oldImage
	}
	c.Env = without(c.Env, img.Env)
	if slices.Equal([]string(c.Cmd), img.Cmd) {
		c.Cmd = nil
	}
	if slices.Equal([]string(c.Entrypoint), img.Entrypoint) {
		c.Entrypoint = nil
	}
	if slices.Equal([]string(c.Shell), img.Shell) {
		c.Shell = nil
	}
	if slices.Equal(c.OnBuild, img.OnBuild) {
		c.OnBuild = nil
	}
	if c.WorkingDir == img.WorkingDir {
		c.WorkingDir = ""
	}
	if c.User == img.User {
		c.User = ""
	}
	if c.StopSignal == img.StopSignal {
		c.StopSignal = ""
	}
	if sameHealthcheck(c.Healthcheck, img.Healthcheck) {
		c.Healthcheck = nil
	}
	c.Labels = maps.Clone(c.Labels)
	for k, v := range img.Labels {
		if c.Labels[k] == v && !strings.HasPrefix(k, composeLabel) {
			delete(c.Labels, k)
		}
	}
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	for p := range img.ExposedPorts {
		delete(c.ExposedPorts, nat.Port(p))
	}
	c.Volumes = maps.Clone(c.Volumes)
	for v := range img.Volumes {
		delete(c.Volumes, v)
	}
	// The engine made these up for the old container (its short ID as the
	// host name, unless host networking gave the host's); the new one gets
	// its own. A name the user chose (--hostname) is kept.
	h := *old.HostConfig
	if c.Hostname == shortID(old.ID) || h.NetworkMode.IsHost() || h.NetworkMode.IsContainer() {
		c.Hostname, c.Domainname = "", ""
	}
	// The old container's ID is in this file: a new create would refuse it.
	h.ContainerIDFile = ""
	h.Binds = append(slices.Clone(h.Binds), anonymousVolumes(old, h)...)

	s := spec{config: &c, host: &h}
	if old.NetworkSettings == nil || h.NetworkMode.IsHost() || h.NetworkMode.IsContainer() || h.NetworkMode.IsNone() {
		return s
	}
	primary := h.NetworkMode.NetworkName()
	names := slices.Sorted(maps.Keys(old.NetworkSettings.Networks))
	for _, name := range names {
		ep := endpoint(old.NetworkSettings.Networks[name], old.ID)
		if name == primary || (s.network == nil && !slices.Contains(names, primary)) {
			s.network = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: ep}}
			continue
		}
		if s.more == nil {
			s.more = map[string]*network.EndpointSettings{}
		}
		s.more[name] = ep
	}
	return s
}

// anonymousVolumes are the old container's volumes that nothing in its
// configuration names (an image's VOLUME, `-v /path`), as binds
// "name:/path[:ro]": created for the old container, they hold its data,
// and a new container would get empty ones. docker compose mounts them
// into the new container on a recreate too.
func anonymousVolumes(old ctypes.InspectResponse, h ctypes.HostConfig) []string {
	named := map[string]bool{}
	for _, b := range h.Binds {
		if parts := strings.Split(b, ":"); len(parts) >= 2 {
			named[parts[1]] = true
		}
	}
	for _, m := range h.Mounts {
		named[m.Target] = true
	}
	var out []string
	for _, mp := range old.Mounts {
		if mp.Type != mount.TypeVolume || mp.Name == "" || named[mp.Destination] {
			continue
		}
		b := mp.Name + ":" + mp.Destination
		if !mp.RW {
			b += ":ro"
		}
		out = append(out, b)
	}
	return out
}

// endpoint is the part of an endpoint a user configures (addresses,
// aliases, links), without the old container's own alias (its short ID),
// which the engine adds for each container itself.
func endpoint(ep *network.EndpointSettings, oldID string) *network.EndpointSettings {
	if ep == nil {
		return &network.EndpointSettings{}
	}
	out := &network.EndpointSettings{
		IPAMConfig: ep.IPAMConfig,
		Links:      ep.Links,
		DriverOpts: ep.DriverOpts,
	}
	for _, a := range ep.Aliases {
		if a != shortID(oldID) {
			out.Aliases = append(out.Aliases, a)
		}
	}
	return out
}

// without is env less the entries defaults also has, exactly (same name,
// same value): a variable the user set to another value stays.
func without(env, defaults []string) []string {
	if len(defaults) == 0 {
		return env
	}
	var out []string
	for _, e := range env {
		if !slices.Contains(defaults, e) {
			out = append(out, e)
		}
	}
	return out
}

func sameHealthcheck(c *ctypes.HealthConfig, img *dockerspec.HealthcheckConfig) bool {
	if c == nil || img == nil {
		return c == nil && img == nil
	}
	return slices.Equal(c.Test, img.Test) && c.Interval == img.Interval && c.Timeout == img.Timeout &&
		c.StartPeriod == img.StartPeriod && c.StartInterval == img.StartInterval && c.Retries == img.Retries
}

// shortID is a container ID as the engine shortens it (host name, alias,
// `docker ps`).
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
