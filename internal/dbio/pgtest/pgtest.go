// Package pgtest starts a throwaway PostgreSQL server for tests: initdb in
// a temporary directory, pg_ctl on a free port on 127.0.0.1, run as the
// unprivileged postgres user when the tests run as root (the server
// refuses root). The server trusts the user postgres and asks every other
// user for a SCRAM password (see AddUser).
package pgtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
)

// Server is a running test server.
type Server struct {
	Port    int
	dir     string
	bin     string
	asUser  string // "" when not root
	logFile string
	mu      sync.Mutex
	stopped bool
}

// ErrNoServer says the PostgreSQL binaries are not installed.
var ErrNoServer = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package postgresql (.ci/run does)")

// binDir finds the directory with initdb and pg_ctl.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoServer
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start initialises and starts a server. Call Stop when done (it removes
// everything).
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	dir, err := os.MkdirTemp("", "salesdag-pg-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the user postgres to run the server: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.asUser = "postgres"
	}
	data := filepath.Join(dir, "data")
	s.logFile = filepath.Join(dir, "server.log")
	if out, err := s.cmd("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	hba := "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := s.writeFile(filepath.Join(data, "pg_hba.conf"), hba); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
		out, err := s.cmd("pg_ctl", "-D", data, "-l", s.logFile, "-w", "-t", "120", "-o", opts, "start").CombinedOutput()
		if err == nil {
			s.Port = port
			return s, nil
		}
		if attempt >= 2 {
			log, _ := os.ReadFile(s.logFile)
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
		}
	}
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// writeFile writes a file in the data directory (as its owner).
func (s *Server) writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	if s.asUser != "" {
		u, err := user.Lookup(s.asUser)
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return os.Chown(path, uid, gid)
	}
	return nil
}

// URL is a postgres:// URL for user (trusted "postgres" when empty) and
// database.
func (s *Server) URL(userinfo, database string) string {
	if userinfo == "" {
		userinfo = "postgres"
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", userinfo, s.Port, database)
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(s.dir)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
