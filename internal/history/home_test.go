package history

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHomeIsFoundFromSubfolders(t *testing.T) {
	t.Setenv(EnvHome, "")
	project := t.TempDir()
	// A stray .salesdag above the test's own directories is not found.
	t.Setenv(EnvCeiling, filepath.Dir(project))
	sub := filepath.Join(project, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))

	// Nothing yet: the working directory's own .salesdag, and say where
	// Home looked.
	t.Chdir(sub)
	require.Equal(t, DefaultHome, Home(os.Getenv))
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, "no .salesdag directory in "+wd+" or its parents", HomeSearch(os.Getenv))

	// A project's .salesdag is found from any folder below it.
	require.NoError(t, os.Mkdir(filepath.Join(project, DefaultHome), 0o755))
	found := Home(os.Getenv)
	require.True(t, filepath.IsAbs(found), found)
	st1, err := os.Stat(found)
	require.NoError(t, err)
	st2, err := os.Stat(filepath.Join(project, DefaultHome))
	require.NoError(t, err)
	require.True(t, os.SameFile(st1, st2))
	require.Equal(t, filepath.Join(found, FileName), DefaultPath(os.Getenv))
	require.Empty(t, HomeSearch(os.Getenv))

	// In the project folder itself it stays relative.
	t.Chdir(project)
	require.Equal(t, DefaultHome, Home(os.Getenv))

	// The search does not go up into a ceiling directory (relative
	// entries are ignored, as git ignores them).
	t.Chdir(sub)
	t.Setenv(EnvCeiling, "relative/dir"+string(filepath.ListSeparator)+project)
	require.Equal(t, DefaultHome, Home(os.Getenv))
	require.NotEmpty(t, HomeSearch(os.Getenv))
	t.Setenv(EnvCeiling, filepath.Dir(project))
	require.True(t, filepath.IsAbs(Home(os.Getenv)), "a ceiling above the project does not hide it")

	// A file named .salesdag is not a state directory.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, DefaultHome), nil, 0o644))
	t.Chdir(other)
	require.NotEmpty(t, HomeSearch(os.Getenv))

	// $SALESDAG_HOME wins.
	t.Setenv(EnvHome, "/somewhere")
	require.Equal(t, "/somewhere", Home(os.Getenv))
	require.Empty(t, HomeSearch(os.Getenv))
}
