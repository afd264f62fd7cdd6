package container

import (
	"slices"
	"testing"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRecreate(t *testing.T) {
	const id = "0123456789abcdef0123"
	img := &dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{
			Env:          []string{"PATH=/bin", "MODE=image"},
			Cmd:          []string{"serve"},
			Entrypoint:   []string{"/server"},
			WorkingDir:   "/app",
			Labels:       map[string]string{"org.opencontainers.image.revision": "abc", "com.docker.compose.project": "shop"},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		},
		DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{
			Healthcheck: &dockerspec.HealthcheckConfig{Test: []string{"CMD", "/server", "-check"}, Interval: time.Second},
		},
	}
	old := ctypes.InspectResponse{
		ContainerJSONBase: &ctypes.ContainerJSONBase{
			ID: id,
			HostConfig: &ctypes.HostConfig{
				NetworkMode:     "shopnet",
				RestartPolicy:   ctypes.RestartPolicy{Name: ctypes.RestartPolicyAlways},
				Binds:           []string{"/srv/data:/data"},
				Mounts:          []mount.Mount{{Type: mount.TypeVolume, Source: "cachevol", Target: "/cache"}},
				PortBindings:    nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "80"}}},
				ContainerIDFile: "/run/api.cid",
			},
		},
		Mounts: []ctypes.MountPoint{
			{Type: mount.TypeBind, Source: "/srv/data", Destination: "/data", RW: true},
			{Type: mount.TypeVolume, Name: "cachevol", Destination: "/cache", RW: true},
			{Type: mount.TypeVolume, Name: "0a1b2c", Destination: "/var/lib/app", RW: true},
			{Type: mount.TypeVolume, Name: "3d4e5f", Destination: "/etc/app", RW: false},
		},
		Config: &ctypes.Config{
			Hostname:     id[:12],
			Image:        "reg/shop/api:prod",
			Env:          []string{"PATH=/bin", "MODE=prod", "TOKEN_FILE=/run/token"},
			Cmd:          []string{"serve"},
			Entrypoint:   []string{"/server"},
			WorkingDir:   "/app",
			Labels:       map[string]string{"org.opencontainers.image.revision": "abc", "com.docker.compose.project": "shop", "team": "pay"},
			ExposedPorts: nat.PortSet{"8080/tcp": {}, "9090/tcp": {}},
			Healthcheck:  &ctypes.HealthConfig{Test: []string{"CMD", "/server", "-check"}, Interval: time.Second},
		},
		NetworkSettings: &ctypes.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"shopnet": {Aliases: []string{"api", id[:12]}, IPAddress: "10.0.0.5", EndpointID: "e1"},
			"metrics": {Aliases: []string{"api-metrics"}},
		}},
	}
	s := recreate(old, img, "reg/shop/api@sha256:1111")
	c := s.config
	checks := []struct {
		what      string
		got, want any
	}{
		{"image", c.Image, "reg/shop/api@sha256:1111"},
		{"env: the user's values stay, the image's defaults go", c.Env, []string{"MODE=prod", "TOKEN_FILE=/run/token"}},
		{"cmd left to the image", len(c.Cmd), 0},
		{"entrypoint left to the image", len(c.Entrypoint), 0},
		{"workdir left to the image", c.WorkingDir, ""},
		{"healthcheck left to the image", c.Healthcheck == nil, true},
		{"hostname the engine gave", c.Hostname, ""},
		{"label of the user", c.Labels["team"], "pay"},
		{"compose's label, even when the image has it", c.Labels["com.docker.compose.project"], "shop"},
		{"revision label of the old image", c.Labels["org.opencontainers.image.revision"], ""},
		{"ports the user exposed", len(c.ExposedPorts), 1},
		{"restart policy", s.host.RestartPolicy.Name, ctypes.RestartPolicyAlways},
		{"binds, and the anonymous volumes by name", s.host.Binds, []string{"/srv/data:/data", "0a1b2c:/var/lib/app", "3d4e5f:/etc/app:ro"}},
		{"published ports", s.host.PortBindings["8080/tcp"][0].HostPort, "80"},
		{"cid file", s.host.ContainerIDFile, ""},
		{"primary network", s.network.EndpointsConfig["shopnet"].Aliases, []string{"api"}},
		{"primary network's address is the engine's", s.network.EndpointsConfig["shopnet"].IPAddress, ""},
		{"another network, connected after", s.more["metrics"].Aliases, []string{"api-metrics"}},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	// The old container's configuration is not changed by the copy.
	if len(old.Config.Env) != 3 || old.Config.Labels["org.opencontainers.image.revision"] != "abc" || old.HostConfig.ContainerIDFile == "" || len(old.HostConfig.Binds) != 1 {
		t.Errorf("recreate changed the old container's configuration: %+v", old.Config)
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}

func TestRecreateWithoutImage(t *testing.T) {
	// The old image was forced away: everything is kept.
	old := ctypes.InspectResponse{
		ContainerJSONBase: &ctypes.ContainerJSONBase{ID: "0123456789abcdef", HostConfig: &ctypes.HostConfig{NetworkMode: "host"}},
		Config:            &ctypes.Config{Hostname: "vm", Env: []string{"A=1"}, Cmd: []string{"x"}},
	}
	s := recreate(old, nil, "reg/a@sha256:1")
	if !slices.Equal(s.config.Env, []string{"A=1"}) || !slices.Equal([]string(s.config.Cmd), []string{"x"}) || s.config.Hostname != "" || s.network != nil {
		t.Errorf("got %+v / %+v", s.config, s.network)
	}
}

func TestRepoDigest(t *testing.T) {
	for _, tc := range []struct {
		ref     string
		digests []string
		want    string
	}{
		{"reg:5000/shop/api:prod", []string{"reg:5000/other@sha256:1", "reg:5000/shop/api@sha256:2"}, "sha256:2"},
		{"reg:5000/shop/api@sha256:3", []string{"reg:5000/shop/api@sha256:2"}, "sha256:3"},
		{"docker.io/library/nginx:1", []string{"nginx@sha256:4"}, "sha256:4"},
		{"shop/api:local", nil, ""},
		{"reg:5000/shop/api:prod", []string{"reg:5000/shop/web@sha256:5"}, ""},
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", []string{"reg/x@sha256:6"}, ""},
	} {
		if got := repoDigest(tc.ref, tc.digests); got != tc.want {
			t.Errorf("repoDigest(%q, %v) = %q, want %q", tc.ref, tc.digests, got, tc.want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"docker://shop-api", "shop-api", true},
		{"docker://shop_api.1", "shop_api.1", true},
		{"docker://", "", false},
		{"docker://a", "", false},
		{"docker://-api", "", false},
		{"docker://shop/api", "", false},
		{"shop-api", "", false},
	} {
		got, err := ParseTarget(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
