package deploy

import (
	"bufio"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// No Docker engine runs in CI, so these tests read docker-compose.yml,
// the Dockerfile and .dockerignore and check what `docker compose up`
// relies on: services, pinned images, healthchecks, depends_on
// conditions, loopback-only ports, mounted files that exist, a non-root
// image, and a three-node cluster profile.

// repoRoot is the repository root, relative to this package.
const repoRoot = ".."

// composeFile is the part of a compose file the tests read.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string                       `yaml:"image"`
	Build       *composeBuild                `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Profiles    []string                     `yaml:"profiles"`
	Environment map[string]string            `yaml:"environment"`
	DependsOn   map[string]composeDependency `yaml:"depends_on"`
	Ports       []string                     `yaml:"ports"`
	Volumes     []string                     `yaml:"volumes"`
	Healthcheck *composeHealthcheck          `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

// loadCompose parses docker-compose.yml (anchors and merge keys included).
func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v (depends_on, environment and build must use the map form)", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return f
}

// inProfile reports whether s runs only with a profile.
func (s composeService) inProfile() bool { return len(s.Profiles) > 0 }

func TestComposeServices(t *testing.T) {
	f := loadCompose(t)
	for _, name := range []string{"kurrentdb", "vitals", "prometheus", "grafana", "kurrentdb-1", "kurrentdb-2", "kurrentdb-3", "vitals-cluster"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("service %q is missing", name)
		}
	}
	for _, name := range []string{"kurrentdb", "vitals", "prometheus", "grafana"} {
		if s, ok := f.Services[name]; ok && s.inProfile() {
			t.Errorf("service %q is in profiles %v; `docker compose up` must start it", name, s.Profiles)
		}
	}
	if f.Name == "" {
		t.Error("the compose project has no name: volumes would be named after the checkout's directory")
	}
}

// floatingTags move to new releases: an image with one is not pinned.
var floatingTags = []string{"latest", "lts", "stable", "main", "master", "edge", "nightly", "current"}

// imageRef splits an image reference into name, tag and digest.
func imageRef(ref string) (name, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

func TestImageRef(t *testing.T) {
	for _, tt := range []struct{ ref, name, tag, digest string }{
		{"prom/prometheus:v3.5.0", "prom/prometheus", "v3.5.0", ""},
		{"docker.kurrent.io/kurrent-lts/kurrentdb:26.0.3", "docker.kurrent.io/kurrent-lts/kurrentdb", "26.0.3", ""},
		{"localhost:5000/vitals", "localhost:5000/vitals", "", ""},
		{"grafana/grafana@sha256:abc", "grafana/grafana", "", "sha256:abc"},
		{"grafana/grafana:12.3.1@sha256:abc", "grafana/grafana", "12.3.1", "sha256:abc"},
	} {
		name, tag, digest := imageRef(tt.ref)
		if name != tt.name || tag != tt.tag || digest != tt.digest {
			t.Errorf("imageRef(%q) = %q, %q, %q", tt.ref, name, tag, digest)
		}
	}
}

func TestComposeImagesPinned(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		if s.Image == "" {
			t.Errorf("service %q has no image", name)
			continue
		}
		ref, tag, digest := imageRef(s.Image)
		if s.Build != nil {
			// Built here: the image is the local name of the build.
			if strings.Contains(ref, ".") || tag == "" || slices.Contains(floatingTags, tag) {
				t.Errorf("service %q builds %q: name the build with a local, non-floating tag", name, s.Image)
			}
			continue
		}
		switch {
		case digest != "":
			if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
				t.Errorf("service %q: malformed digest in %q", name, s.Image)
			}
		case tag == "":
			t.Errorf("service %q: image %q has neither a tag nor a digest", name, s.Image)
		case slices.Contains(floatingTags, strings.ToLower(tag)) || !regexp.MustCompile(`\d`).MatchString(tag):
			t.Errorf("service %q: image %q has the floating tag %q; pin a release", name, s.Image, tag)
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		hc := s.Healthcheck
		if hc == nil || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
			t.Errorf("service %q: no healthcheck test in exec form ([CMD, …])", name)
			continue
		}
		for _, d := range []struct{ what, v string }{{"interval", hc.Interval}, {"timeout", hc.Timeout}, {"start_period", hc.StartPeriod}} {
			if d.v == "" && d.what == "start_period" {
				continue
			}
			if v, err := time.ParseDuration(d.v); err != nil || v <= 0 {
				t.Errorf("service %q: healthcheck %s %q", name, d.what, d.v)
			}
		}
		if hc.Retries <= 0 {
			t.Errorf("service %q: healthcheck retries %d", name, hc.Retries)
		}
		// The probe asks the service itself, on the port it listens on.
		probe := strings.Join(hc.Test[1:], " ")
		m := regexp.MustCompile(`http://(127\.0\.0\.1|localhost):(\d+)(/\S*)`).FindStringSubmatch(probe)
		if m == nil {
			t.Errorf("service %q: healthcheck %q does not probe a local HTTP endpoint", name, probe)
			continue
		}
		if ports := containerPorts(s); !slices.Contains(ports, m[2]) {
			t.Errorf("service %q: healthcheck probes port %s, the service publishes %v", name, m[2], ports)
		}
	}
}

// containerPorts returns the container ports s publishes.
func containerPorts(s composeService) []string {
	var ps []string
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		ps = append(ps, strings.TrimSuffix(parts[len(parts)-1], "/tcp"))
	}
	return ps
}

func TestComposeDependsOn(t *testing.T) {
	f := loadCompose(t)
	want := map[string][]string{
		"vitals":         {"kurrentdb"},
		"grafana":        {"prometheus"},
		"vitals-cluster": {"kurrentdb-1", "kurrentdb-2", "kurrentdb-3"},
	}
	for name, deps := range want {
		for _, d := range deps {
			if _, ok := f.Services[name].DependsOn[d]; !ok {
				t.Errorf("service %q does not depend on %q", name, d)
			}
		}
	}
	for name, s := range f.Services {
		for dep, c := range s.DependsOn {
			target, ok := f.Services[dep]
			switch {
			case !ok:
				t.Errorf("service %q depends on %q, which does not exist", name, dep)
			case c.Condition != "service_healthy":
				t.Errorf("service %q depends on %q with condition %q, want service_healthy", name, dep, c.Condition)
			case target.Healthcheck == nil:
				t.Errorf("service %q waits for %q to be healthy, which has no healthcheck", name, dep)
			case !s.inProfile() && target.inProfile():
				t.Errorf("service %q always runs but depends on %q, which runs only with profiles %v", name, dep, target.Profiles)
			}
		}
	}
}

func TestComposePorts(t *testing.T) {
	f := loadCompose(t)
	host := make(map[string]string)
	for name, s := range f.Services {
		for _, p := range s.Ports {
			m := regexp.MustCompile(`^127\.0\.0\.1:(\d+):(\d+)$`).FindStringSubmatch(p)
			if m == nil {
				t.Errorf("service %q publishes %q: publish on 127.0.0.1 only (HOST:CONTAINER), the stack runs without authentication", name, p)
				continue
			}
			if other, dup := host[m[1]]; dup {
				t.Errorf("services %q and %q both publish host port %s", other, name, m[1])
			}
			host[m[1]] = name
		}
	}
}

// bind is a host path mounted into a container.
type bind struct{ host, container string }

// binds returns the bind mounts of s, with host paths relative to the
// repository root.
func binds(s composeService) []bind {
	var bs []bind
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !(strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/")) {
			continue // a named volume
		}
		bs = append(bs, bind{host: parts[0], container: parts[1]})
	}
	return bs
}

func TestComposeMounts(t *testing.T) {
	f := loadCompose(t)
	used := make(map[string]bool)
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 || !strings.HasPrefix(parts[1], "/") {
				t.Errorf("service %q mounts %q: want SOURCE:/container/path[:ro]", name, v)
				continue
			}
			if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
				t.Errorf("service %q mounts %q with mode %q", name, v, parts[2])
			}
			src := parts[0]
			switch {
			case strings.HasPrefix(src, "/"):
				t.Errorf("service %q mounts the absolute host path %q: use a path in the repository or a named volume", name, src)
			case strings.HasPrefix(src, "."):
				if strings.HasPrefix(path.Clean(src), "..") {
					t.Errorf("service %q mounts %q, outside the repository", name, src)
				} else if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(src))); err != nil {
					t.Errorf("service %q mounts %q: %v", name, src, err)
				}
			default:
				if _, ok := f.Volumes[src]; !ok {
					t.Errorf("service %q uses the volume %q, which is not declared under volumes", name, src)
				}
				used[src] = true
			}
		}
	}
	for v := range f.Volumes {
		if !used[v] {
			t.Errorf("volume %q is declared but not used", v)
		}
	}
	for _, name := range []string{"kurrentdb", "vitals", "prometheus", "grafana"} {
		hasNamed := false
		for _, v := range f.Services[name].Volumes {
			if _, ok := f.Volumes[strings.Split(v, ":")[0]]; ok {
				hasNamed = true
			}
		}
		if !hasNamed {
			t.Errorf("service %q keeps its data in no named volume", name)
		}
	}
}

// hostPath maps a path inside a container of s to the repository file
// mounted there; ok is false when no bind mount covers it.
func hostPath(s composeService, p string) (string, bool) {
	for _, b := range binds(s) {
		if p == b.container || strings.HasPrefix(p, b.container+"/") {
			return filepath.Join(repoRoot, filepath.FromSlash(b.host), filepath.FromSlash(strings.TrimPrefix(p, b.container))), true
		}
	}
	return "", false
}

func TestComposeContainerPaths(t *testing.T) {
	f := loadCompose(t)
	// Paths given to the programs exist in the files mounted for them.
	checks := []struct{ service, path string }{}
	for _, arg := range f.Services["prometheus"].Command {
		if v, ok := strings.CutPrefix(arg, "--config.file="); ok {
			checks = append(checks, struct{ service, path string }{"prometheus", v})
		}
	}
	if len(checks) == 0 {
		t.Error("prometheus is not given --config.file")
	}
	for k, v := range f.Services["grafana"].Environment {
		if strings.HasSuffix(k, "_PATH") && strings.HasPrefix(v, "/") {
			checks = append(checks, struct{ service, path string }{"grafana", v})
		}
	}
	for _, c := range checks {
		hp, ok := hostPath(f.Services[c.service], c.path)
		if !ok {
			t.Errorf("service %q uses %s, which no bind mount provides", c.service, c.path)
			continue
		}
		if _, err := os.Stat(hp); err != nil {
			t.Errorf("service %q uses %s: %v", c.service, c.path, err)
		}
	}
	// Grafana is provisioned from the mounted directories.
	g := f.Services["grafana"]
	for _, p := range []string{"/etc/grafana/provisioning/datasources", "/etc/grafana/provisioning/dashboards", "/var/lib/grafana/dashboards"} {
		hp, ok := hostPath(g, p)
		if !ok {
			t.Errorf("grafana: nothing is mounted at %s", p)
			continue
		}
		if fi, err := os.Stat(hp); err != nil || !fi.IsDir() {
			t.Errorf("grafana: %s comes from %s: %v", p, hp, err)
		}
	}
}

// flagValue returns the value of --name=value or --name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func TestComposeVitalsStore(t *testing.T) {
	f := loadCompose(t)
	for name, hosts := range map[string][]string{
		"vitals":         {"kurrentdb"},
		"vitals-cluster": {"kurrentdb-1", "kurrentdb-2", "kurrentdb-3"},
	} {
		s := f.Services[name]
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			t.Errorf("service %q runs %v, want vitals serve", name, s.Command)
			continue
		}
		addr, ok := flagValue(s.Command, "addr")
		if !ok || !strings.HasPrefix(addr, "0.0.0.0:") {
			t.Errorf("service %q: --addr %q; listen on 0.0.0.0 inside the container", name, addr)
		} else if port := strings.TrimPrefix(addr, "0.0.0.0:"); !slices.Contains(containerPorts(s), port) {
			t.Errorf("service %q listens on %s but publishes %v", name, port, containerPorts(s))
		}
		store, ok := flagValue(s.Command, "store")
		if !ok {
			t.Errorf("service %q: no --store", name)
			continue
		}
		u, err := url.Parse(strings.ReplaceAll(store, ",", "/"))
		if err != nil || u.Scheme != "esdb" || u.Query().Get("tls") != "false" {
			t.Errorf("service %q: --store %q, want esdb://…?tls=false", name, store)
			continue
		}
		var got []string
		for _, h := range strings.Split(strings.TrimPrefix(store, "esdb://"), ",") {
			h, _, _ = strings.Cut(h, "?")
			hostname, port, _ := strings.Cut(h, ":")
			got = append(got, hostname)
			if port != "2113" || !slices.Contains(containerPorts(f.Services[hostname]), "2113") {
				t.Errorf("service %q: --store names %s, not a KurrentDB service on 2113", name, h)
			}
		}
		if !slices.Equal(got, hosts) {
			t.Errorf("service %q: --store names %v, want %v", name, got, hosts)
		}
		if dir, ok := flagValue(s.Command, "data-dir"); !ok || !slices.ContainsFunc(s.Volumes, func(v string) bool {
			return strings.Split(v, ":")[1] == dir
		}) {
			t.Errorf("service %q: --data-dir %q is not a mounted volume (snapshots would be lost)", name, dir)
		}
	}
}

func TestComposeClusterProfile(t *testing.T) {
	f := loadCompose(t)
	var nodes []string
	for name, s := range f.Services {
		if slices.Contains(s.Profiles, "cluster") && strings.Contains(s.Image, "kurrentdb") {
			nodes = append(nodes, name)
		}
	}
	slices.Sort(nodes)
	if want := []string{"kurrentdb-1", "kurrentdb-2", "kurrentdb-3"}; !slices.Equal(nodes, want) {
		t.Fatalf("KurrentDB nodes in the cluster profile: %v, want %v", nodes, want)
	}
	single := f.Services["kurrentdb"]
	for _, n := range nodes {
		env := f.Services[n].Environment
		if f.Services[n].Image != single.Image {
			t.Errorf("%s runs %s, the single node %s", n, f.Services[n].Image, single.Image)
		}
		if env["KURRENTDB_CLUSTER_SIZE"] != "3" || env["KURRENTDB_INSECURE"] != "true" || env["KURRENTDB_DISCOVER_VIA_DNS"] != "false" {
			t.Errorf("%s: cluster size %q, insecure %q, DNS discovery %q", n, env["KURRENTDB_CLUSTER_SIZE"], env["KURRENTDB_INSECURE"], env["KURRENTDB_DISCOVER_VIA_DNS"])
		}
		var seeds []string
		for _, s := range strings.Split(env["KURRENTDB_GOSSIP_SEED"], ",") {
			h, _, _ := strings.Cut(s, ":")
			seeds = append(seeds, h)
		}
		others := slices.DeleteFunc(slices.Clone(nodes), func(o string) bool { return o == n })
		if !slices.Equal(seeds, others) {
			t.Errorf("%s gossips with %v, want the other nodes %v", n, seeds, others)
		}
		if env["KURRENTDB_NODE_HOST_ADVERTISE_AS"] != n || env["KURRENTDB_REPLICATION_HOST_ADVERTISE_AS"] != n {
			t.Errorf("%s advertises itself as %q/%q", n, env["KURRENTDB_NODE_HOST_ADVERTISE_AS"], env["KURRENTDB_REPLICATION_HOST_ADVERTISE_AS"])
		}
	}
	if env := single.Environment; env["KURRENTDB_CLUSTER_SIZE"] != "1" || env["KURRENTDB_INSECURE"] != "true" {
		t.Errorf("single node: cluster size %q insecure %q", env["KURRENTDB_CLUSTER_SIZE"], env["KURRENTDB_INSECURE"])
	}
}

// TestComposePrometheusTargets checks that Prometheus scrapes services of
// this file, on ports they listen on.
func TestComposePrometheusTargets(t *testing.T) {
	f := loadCompose(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	scraped := make(map[string]bool)
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				h, port, _ := strings.Cut(target, ":")
				s, ok := f.Services[h]
				if !ok || !slices.Contains(containerPorts(s), port) {
					t.Errorf("job %q scrapes %s, not a port of a compose service", sc.JobName, target)
				}
				scraped[h] = true
			}
		}
	}
	for _, h := range []string{"vitals", "kurrentdb"} {
		if !scraped[h] {
			t.Errorf("Prometheus does not scrape %s", h)
		}
	}
}

func TestDockerfile(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		if s.Build == nil {
			continue
		}
		if s.Build.Context != "." || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("service %q builds %+v, want the root Dockerfile", name, *s.Build)
		}
	}
	file, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var (
		stages   int
		lastUser string // USER of the final stage
		cgoOff   bool
		copied   []string
	)
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			stages++
			lastUser = ""
			_, tag, digest := imageRef(fields[1])
			if tag == "" && digest == "" || slices.Contains(floatingTags, tag) {
				t.Errorf("Dockerfile: %q is not pinned to a release", line)
			}
		case "USER":
			lastUser = fields[1]
		case "RUN":
			if strings.Contains(line, "CGO_ENABLED=0") && strings.Contains(line, "go build") {
				cgoOff = true
			}
		case "COPY":
			if !strings.HasPrefix(fields[1], "--from") {
				copied = append(copied, fields[1:len(fields)-1]...)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if stages < 2 {
		t.Errorf("Dockerfile has %d stage(s), want a build stage and a runtime stage", stages)
	}
	if !cgoOff {
		t.Error("Dockerfile does not build with CGO_ENABLED=0 (a static binary)")
	}
	user, _, _ := strings.Cut(lastUser, ":")
	if user == "" || user == "0" || user == "root" {
		t.Errorf("the final stage runs as %q, want an unprivileged user", lastUser)
	}

	// .dockerignore keeps what the build copies.
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	needed := append(slices.Clone(copied), "go.mod", "go.sum", "cmd/vitals/main.go", "eventstore/esdb/store.go", "domain")
	for _, p := range needed {
		if p == "." {
			continue
		}
		for _, pat := range patterns {
			first, _, _ := strings.Cut(p, "/")
			if m, _ := path.Match(pat, p); m || pat == first {
				t.Errorf(".dockerignore pattern %q excludes %s, which the build needs", pat, p)
			}
		}
	}
}
