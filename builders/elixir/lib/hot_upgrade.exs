# elixir hot_upgrade.exs PREVIOUS_SLUG BUILD_DIR RELEASE_ROOT
#
# Turns the release that `mix release` just built in RELEASE_ROOT into an
# OTP upgrade of the release running from PREVIOUS_SLUG (the app's current
# slug, unpacked read-only by the worker): an appup for every application
# whose version changed (generated from the old and new beams unless the app
# ships rel/appups/APP/OLD_to_NEW.appup), the relup from systools, the
# upgrade package release_handler unpacks (releases/NEW.tar.gz), the
# bin/hot-upgrade command the deployer runs, and BUILD_DIR/.kiln/upgrade.json
# for the worker's manifest.
#
# Exits 1 with the reason when the upgrade cannot be made: the push then
# fails, and a push without KILN-HOT deploys the same commit by restart.

for part <- ~w(log release checks appup package),
    do: Code.require_file("hot_upgrade/#{part}.exs", __DIR__)

defmodule Kiln.HotUpgrade do
  @moduledoc false

  alias Kiln.HotUpgrade.{Appup, Checks, Log, Package, Release}

  def main([previous_slug, build_dir, new_root]) do
    new = Release.read(new_root)
    old_root = Release.previous_root(previous_slug, new_root)
    old = Release.read(old_root)
    Checks.versions!(old, new)
    Checks.runtime!(old, new)

    Log.say("Hot upgrade of release #{new.name}: #{old.vsn} -> #{new.vsn} (ERTS #{new.erts})")
    old_apps = Map.new(old.apps, fn {app, vsn} -> {app, vsn} end)

    changed =
      for {app, vsn} <- new.apps, Map.has_key?(old_apps, app), old_apps[app] != vsn do
        {app, old_apps[app], vsn}
      end

    for {app, vsn} <- new.apps,
        not Map.has_key?(old_apps, app),
        do: Log.say("#{app} #{vsn} is new: it is loaded and started")

    for {app, vsn} <- old.apps,
        not List.keymember?(new.apps, app, 0),
        do: Log.say("#{app} #{vsn} is gone: it is stopped and unloaded")

    Checks.unversioned_changes!(old, new)
    Checks.protocols!(old, new)

    for {app, from, to} <- changed do
      old_lib = Release.lib_dir(old_root, app, from)
      new_lib = Release.lib_dir(new_root, app, to)
      Checks.nifs!(app, old_lib, new_lib)
      Checks.top!(app, old_lib, new_lib)

      appup =
        Appup.shipped(build_dir, app, from, to) || Appup.generate(app, from, to, old_lib, new_lib)

      File.write!(
        Path.join([new_lib, "ebin", "#{app}.appup"]),
        :io_lib.format(~c"~p.~n", [appup])
      )
    end

    Package.relup!(old, new)
    Package.tarball!(old, new)
    # Where the running node's release is in its dyno: the previous slug's layout under /app.
    Package.command!(new, old, Path.join("/app", Path.relative_to(old_root, previous_slug)))
    Package.record!(build_dir, old, new)

    Log.say(
      "bin/hot-upgrade applies it to the running node; releases/#{new.vsn}.tar.gz is the upgrade package"
    )
  end
end

Kiln.HotUpgrade.main(System.argv())
