package crash

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of the waits around the subprocess.
const (
	buildTimeout   = 3 * time.Minute
	listenTimeout  = 30 * time.Second
	readyTimeout   = 90 * time.Second
	exitTimeout    = 30 * time.Second
	rebuildTimeout = 3 * time.Minute
)

// buildVitals builds ./cmd/vitals of the repository this test lives in
// (two levels up) into dir and returns the binary's path.
func buildVitals(t *testing.T, dir string) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "vitals")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	bin := filepath.Join(dir, "vitals")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, "./cmd/vitals")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vitals: %v\n%s", err, out)
	}
	return bin
}

// server is one "vitals serve" subprocess.
type server struct {
	cmd     *exec.Cmd
	url     string // http://127.0.0.1:PORT
	logPath string
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid after exited is closed
}

// servers starts and tracks subprocesses; Cleanup kills whatever is left.
type servers struct {
	t       *testing.T
	bin     string
	dataDir string
	logDir  string
	// args are passed to every "vitals serve" (before the start's own),
	// env is added to its environment.
	args []string
	env  []string
	mu   sync.Mutex
	all  []*server
	n    int
}

func newServers(t *testing.T, bin, dataDir string) *servers {
	s := &servers{t: t, bin: bin, dataDir: dataDir, logDir: t.TempDir()}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, srv := range s.all {
			srv.kill()
		}
		if t.Failed() {
			for i := max(0, len(s.all)-2); i < len(s.all); i++ {
				t.Logf("tail of %s:\n%s", s.all[i].logPath, tail(s.all[i].logPath, 40))
			}
		}
	})
	return s
}

// start runs "vitals serve" on a free loopback port (the kernel picks it:
// --addr 127.0.0.1:0, the address is read from the "vitals is serving" log
// line) with extra flags and returns once it listens. The rate limit is off:
// the clients and the read-back would trip it, and throttling is not what
// this test is about (the clients still honour 429 and 503).
func (s *servers) start(ctx context.Context, extra ...string) (*server, error) {
	s.mu.Lock()
	s.n++
	logPath := filepath.Join(s.logDir, fmt.Sprintf("serve-%03d.log", s.n))
	s.mu.Unlock()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", s.dataDir, "--log-format", "json", "--rate-limit", "0"}, s.args...)
	args = append(args, extra...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout = pw
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start vitals serve: %w", err)
	}
	pw.Close()
	srv := &server{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	s.mu.Lock()
	s.all = append(s.all, srv)
	s.mu.Unlock()
	go func() {
		srv.waitErr = cmd.Wait()
		close(srv.exited)
	}()

	// Copy stdout to the log file (the file stays open in this goroutine
	// through its own descriptor) and look for the listen address.
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		srv.kill()
		pr.Close()
		return nil, err
	}
	addrc := make(chan string, 1)
	go func() {
		defer pr.Close()
		defer out.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = out.Write(append(line, '\n'))
			if found {
				continue
			}
			var l struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(line, &l) == nil && l.Message == "vitals is serving" && l.Addr != "" {
				found = true
				addrc <- l.Addr
			}
		}
		_, _ = io.Copy(out, pr)
	}()

	ctx, cancel := context.WithTimeout(ctx, listenTimeout)
	defer cancel()
	select {
	case addr := <-addrc:
		srv.url = "http://" + addr
		return srv, nil
	case <-srv.exited:
		return nil, fmt.Errorf("vitals serve exited before listening (%v); log:\n%s", srv.waitErr, tail(logPath, 30))
	case <-ctx.Done():
		srv.kill()
		return nil, fmt.Errorf("vitals serve did not log its address within %s; log:\n%s", listenTimeout, tail(logPath, 30))
	}
}

// waitReady polls /readyz until it answers 200.
func (srv *server) waitReady(ctx context.Context, hc *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		select {
		case <-srv.exited:
			return fmt.Errorf("vitals serve exited while waiting for /readyz (%v)", srv.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("/readyz not 200 within %s; last answer: %s", readyTimeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL (if the process still runs) and waits for its exit.
func (srv *server) kill() {
	select {
	case <-srv.exited:
		return
	default:
	}
	_ = srv.cmd.Process.Kill()
	select {
	case <-srv.exited:
	case <-time.After(exitTimeout):
	}
}

// hasExited reports whether the process has exited and been waited for.
func (srv *server) hasExited() bool {
	select {
	case <-srv.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the process unless it has exited.
func (srv *server) signal(sig os.Signal) error {
	select {
	case <-srv.exited:
		return errors.New("process already exited")
	default:
	}
	return srv.cmd.Process.Signal(sig)
}

// waitExit waits (bounded) for the process to exit and returns its wait
// error (nil for exit status 0).
func (srv *server) waitExit(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, exitTimeout)
	defer cancel()
	select {
	case <-srv.exited:
		return srv.waitErr
	case <-ctx.Done():
		return fmt.Errorf("vitals serve did not exit within %s", exitTimeout)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (srv *server) stop(ctx context.Context) error {
	if err := srv.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	if err := srv.waitExit(ctx); err != nil {
		return fmt.Errorf("after SIGTERM: %w; log:\n%s", err, tail(srv.logPath, 30))
	}
	return nil
}

// rebuild runs "vitals rebuild" on the data dir (the server must be
// stopped).
func (s *servers) rebuild(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, rebuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "rebuild", "--data-dir", s.dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("vitals rebuild: %w\n%s", err, out)
	}
	return nil
}

// countLogs counts the log lines of all servers that contain s.
func (s *servers) countLogs(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, srv := range s.all {
		b, _ := os.ReadFile(srv.logPath)
		n += strings.Count(string(b), sub)
	}
	return n
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
