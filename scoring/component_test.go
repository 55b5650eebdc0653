package scoring

import (
	"reflect"
	"strings"
	"testing"
)

// TestEveryComponentIsRegistered: components has no empty entry and no
// name twice, and each component's settings and patch are the fields of
// Components and ComponentPatches whose YAML key is its name — so a
// component added to the configuration but not registered (or the other
// way round) fails here.
func TestEveryComponentIsRegistered(t *testing.T) {
	seen := map[string]bool{}
	var cs Components
	ps := ComponentPatches{}
	pv := reflect.ValueOf(&ps).Elem()
	for i := range pv.NumField() {
		pv.Field(i).Set(reflect.New(pv.Field(i).Type().Elem()))
	}
	for i, c := range components {
		if c == nil {
			t.Fatalf("components[%d] is empty: numComps is %d", i, numComps)
		}
		name := c.name()
		if seen[name] {
			t.Errorf("component %q registered twice", name)
		}
		seen[name] = true
		if got := yamlKeyOf(t, &cs, c.settings(&cs)); got != name {
			t.Errorf("component %q: its settings are Components' field %q", name, got)
		}
		if got := yamlKeyOf(t, &ps, c.patch(ps)); got != name {
			t.Errorf("component %q: its patch is ComponentPatches' field %q", name, got)
		}
	}
	if n := reflect.TypeFor[Components]().NumField(); n != numComps {
		t.Errorf("Components has %d fields, %d components are registered", n, numComps)
	}
	if n := reflect.TypeFor[ComponentPatches]().NumField(); n != numComps {
		t.Errorf("ComponentPatches has %d fields, %d components are registered", n, numComps)
	}
}

// yamlKeyOf returns the YAML key of the field of *st that ptr points to.
func yamlKeyOf[S, F any](t *testing.T, st *S, ptr *F) string {
	t.Helper()
	v := reflect.ValueOf(st).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		match := false
		switch f.Kind() {
		case reflect.Pointer:
			match = !f.IsNil() && f.Interface() == any(ptr)
		default:
			match = f.Addr().Interface() == any(ptr)
		}
		if match {
			key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			return key
		}
	}
	return "(none)"
}

// TestLowerIsBetterIsDeclared: each component states its direction, and
// the default thresholds agree with it.
func TestLowerIsBetterIsDeclared(t *testing.T) {
	cfg := DefaultConfig()
	for _, c := range components {
		cc := c.settings(&cfg.Components)
		if c.lowerIsBetter() != (cc.Green < cc.Yellow) && cc.Green != cc.Yellow {
			t.Errorf("component %q: lowerIsBetter %v, but its default thresholds are green %g, yellow %g",
				c.name(), c.lowerIsBetter(), cc.Green, cc.Yellow)
		}
	}
}

// TestNextChangeBruteForcePerComponent runs the brute-force NextChange
// check with one registered component weighted at a time (the others at
// 0), so each component's next instants are checked where it alone makes
// the score; and it requires the random accounts to give each component a
// value, so a component added without random facts fails.
func TestNextChangeBruteForcePerComponent(t *testing.T) {
	for id, c := range components {
		t.Run(c.name(), func(t *testing.T) {
			cfg := DefaultConfig()
			for j, cc := range cfg.Components.list() {
				if j != id {
					cc.Weight = 0
				}
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			present := bruteForceN(t, s, 25)
			if !present[c.name()] {
				t.Errorf("no random account gave component %q a value: add its facts to randomOps", c.name())
			}
		})
	}
}
