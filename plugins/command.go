package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Command says how to start one plugin process.
type Command struct {
	Kind Kind
	Name string   // "json", "bolt", "cbor", ...
	Path string   // executable
	Args []string // e.g. {"plugin", "serve", "encoding", "json"} for a builtin run from the bridge binary
	Env  []string // extra environment, "KEY=value"
}

// String names the plugin the way errors and logs do: `encoding plugin "json"`.
func (c Command) String() string {
	return fmt.Sprintf("%s plugin %q", c.Kind, c.Name)
}

// BuiltinCommand returns the command that serves the builtin plugin of this
// kind and name from the running executable, which must be the bridge
// binary: it runs `<executable> plugin serve <kind> <name>`.
func BuiltinCommand(kind Kind, name string) Command {
	return Command{
		Kind: kind,
		Name: name,
		Path: executable(),
		Args: []string{"plugin", "serve", string(kind), name},
	}
}

// ExternalFile is the file name of an external plugin of this kind and name
// in a plugin directory: corebridge-<kind>-<name>.
func ExternalFile(kind Kind, name string) string {
	return "corebridge-" + string(kind) + "-" + name
}

// ExternalCommand returns the command that runs the external plugin
// dir/corebridge-<kind>-<name>. It fails, wrapping ErrNotFound, when that
// file does not exist or is not an executable regular file.
func ExternalCommand(dir string, kind Kind, name string) (Command, error) {
	c := Command{Kind: kind, Name: name}
	if err := checkName(name); err != nil {
		return c, fmt.Errorf("%s: %w", c, err)
	}
	path := filepath.Join(dir, ExternalFile(kind, name))
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil && os.IsNotExist(err):
		return c, fmt.Errorf("%s: no file %s in the plugin directory %s: %w", c, ExternalFile(kind, name), dir, ErrNotFound)
	case err != nil:
		return c, fmt.Errorf("%s: %w", c, err)
	case !fi.Mode().IsRegular():
		return c, fmt.Errorf("%s: %s is not a regular file: %w", c, path, ErrNotFound)
	case fi.Mode().Perm()&0o111 == 0:
		return c, fmt.Errorf("%s: %s is not executable (chmod +x it): %w", c, path, ErrNotFound)
	}
	c.Path = path
	return c, nil
}

// checkName accepts plugin names that are safe in a file name.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty plugin name")
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`+"\x00") {
		return fmt.Errorf("plugin name %q cannot be part of a file name", name)
	}
	return nil
}

// executable is the path of the running program, used to serve builtins.
func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return os.Args[0]
}
