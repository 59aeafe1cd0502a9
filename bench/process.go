package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Pinning says on which CPU the servers and the load generators run.
type Pinning struct {
	Server, Load string // taskset CPU lists ("0", "1"); empty: not pinned
	Why          string // when not pinned, why not
}

// DefaultPinning pins servers to CPU 0 and load generators to CPU 1 when
// taskset exists and the process may use at least 2 CPUs.
func DefaultPinning() Pinning {
	if _, err := exec.LookPath("taskset"); err != nil {
		return Pinning{Why: "taskset not found"}
	}
	if n := runtime.NumCPU(); n < 2 {
		return Pinning{Why: fmt.Sprintf("%d CPU available", n)}
	}
	return Pinning{Server: "0", Load: "1"}
}

// child is a process the harness started. Its stdout is kept in memory
// (the JSON summaries are small), its stderr goes to a log file. It runs
// in its own process group so that stopping it reaches anything it
// started, and it gets SIGKILL if the harness dies first (Pdeathsig).
type child struct {
	name string
	cmd  *exec.Cmd
	log  string

	mu     sync.Mutex
	stdout bytes.Buffer

	done chan struct{} // closed when the process was reaped
	err  error         // Wait's result, valid after done
}

// lockedWriter lets Wait's copier and readers share the stdout buffer.
type lockedWriter struct{ c *child }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.c.stdout.Len() > 4<<20 { // a summary is one line; drop floods
		return len(p), nil
	}
	return w.c.stdout.Write(p)
}

// startChild starts argv, under `taskset -c cpus` when cpus is not
// empty, logging its stderr to logDir/tickroom-bench-<harness pid>-<name>.log.
func startChild(name, cpus, logDir string, argv ...string) (*child, error) {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	logPath := filepath.Join(logDir, fmt.Sprintf("tickroom-bench-%d-%s.log", os.Getpid(), name))
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c := &child{name: name, log: logPath, done: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Stdout = lockedWriter{c}
	c.cmd.Stderr = lf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("bench: starting %s: %w", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		lf.Close()
		close(c.done)
	}()
	return c, nil
}

// Pid is the process's PID (taskset execs the command in place, so it is
// the command's PID).
func (c *child) Pid() int { return c.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (c *child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stdout returns what the process printed so far.
func (c *child) Stdout() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stdout.String()
}

// Signal sends sig to the process (not its group).
func (c *child) Signal(sig syscall.Signal) {
	if !c.Exited() {
		_ = c.cmd.Process.Signal(sig)
	}
}

// Stop sends sig and waits up to grace for the process to end, then kills
// its process group. It returns Wait's error (nil for exit status 0).
func (c *child) Stop(sig syscall.Signal, grace time.Duration) error {
	c.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(grace):
	}
	c.kill()
	return c.err
}

// kill sends SIGKILL to the process group and waits until it is reaped.
func (c *child) kill() {
	if !c.Exited() {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// Wait waits up to d for the process to end on its own.
func (c *child) Wait(d time.Duration) (exited bool, err error) {
	select {
	case <-c.done:
		return true, c.err
	case <-time.After(d):
		return false, nil
	}
}

// LogTail returns the last lines of the process's stderr log, for error
// messages.
func (c *child) LogTail(lines int) string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// lastJSONLine returns the last line of out that starts with '{'.
func lastJSONLine(out string) (string, error) {
	ls := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(ls) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(ls[i]); strings.HasPrefix(l, "{") {
			return l, nil
		}
	}
	return "", errors.New("no JSON line in the output")
}
