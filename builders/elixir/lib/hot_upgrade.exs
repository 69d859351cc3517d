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

defmodule Kiln.HotUpgrade do
  @moduledoc false

  def main([previous_slug, build_dir, new_root]) do
    new = release(new_root)
    old_root = previous_root(previous_slug, new.name)
    old = release(old_root)
    check_versions!(old, new)
    check_runtime!(old, new)

    say("Hot upgrade of release #{new.name}: #{old.vsn} -> #{new.vsn} (ERTS #{new.erts})")
    old_apps = Map.new(old.apps, fn {app, vsn} -> {app, vsn} end)

    changed =
      for {app, vsn} <- new.apps, Map.has_key?(old_apps, app), old_apps[app] != vsn do
        {app, old_apps[app], vsn}
      end

    for {app, vsn} <- new.apps, not Map.has_key?(old_apps, app), do: say("#{app} #{vsn} is new: it is loaded and started")
    for {app, vsn} <- old.apps, not List.keymember?(new.apps, app, 0), do: say("#{app} #{vsn} is gone: it is stopped and unloaded")
    warn_unversioned_changes(old_root, new_root, old.apps, new.apps)

    for {app, from, to} <- changed do
      old_lib = lib_dir(old_root, app, from)
      new_lib = lib_dir(new_root, app, to)
      check_nifs!(app, old_lib, new_lib)
      check_top!(app, old_lib, new_lib)
      appup = shipped_appup(build_dir, app, from, to) || generate_appup(app, from, to, old_lib, new_lib)
      File.write!(Path.join([new_lib, "ebin", "#{app}.appup"]), :io_lib.format(~c"~p.~n", [appup]))
    end

    make_relup!(old, new)
    package!(old, new)
    write_command!(new, old)
    write_record!(build_dir, old, new)
    say("bin/hot-upgrade applies it to the running node; releases/#{new.vsn}.tar.gz is the upgrade package")
  end

  # The release in `root`: its name, version, ERTS and applications, from
  # releases/start_erl.data and the .rel file mix wrote beside the boot files.
  defp release(root) do
    [erts, vsn] = root |> Path.join("releases/start_erl.data") |> File.read!() |> String.split()
    [rel_file] = Path.wildcard(Path.join([root, "releases", vsn, "*.rel"]))
    {:ok, [{:release, {name, _}, {:erts, rel_erts}, apps}]} = :file.consult(String.to_charlist(rel_file))
    apps = for entry <- apps, do: {elem(entry, 0), to_string(elem(entry, 1))}
    %{root: root, name: to_string(name), vsn: vsn, erts: to_string(rel_erts), start_erts: erts, apps: apps, rel: Path.rootname(rel_file)}
  end

  defp previous_root(slug, name) do
    case Path.wildcard(Path.join(slug, "_build/*/rel/*/releases/start_erl.data")) do
      [] ->
        impossible("the running release is not an Elixir release: its slug has no _build/*/rel/*/releases/start_erl.data (it was not built by mix release)")

      found ->
        roots = Enum.map(found, &Path.dirname(Path.dirname(&1)))

        Enum.find(roots, &(Path.basename(&1) == name)) ||
          impossible("the running slug has release #{Enum.map_join(roots, ", ", &Path.basename/1)}, not #{name}: a renamed release cannot replace another in place")
    end
  end

  defp check_versions!(old, new) do
    bumped =
      case {Version.parse(old.vsn), Version.parse(new.vsn)} do
        {{:ok, a}, {:ok, b}} -> Version.compare(b, a) == :gt
        _ -> old.vsn != new.vsn
      end

    unless bumped do
      fail("""
      Hot upgrade refused: this commit's release #{new.name} is version #{new.vsn}, and the running release is #{old.vsn}.
      An upgrade needs a higher version: bump `version:` in mix.exs (for example to #{suggest(old.vsn)}) and push again with KILN-HOT: true,
      or push without KILN-HOT to deploy this commit by restart.\
      """)
    end
  end

  defp suggest(vsn) do
    case Version.parse(vsn) do
      {:ok, v} -> to_string(%{v | patch: v.patch + 1, pre: [], build: nil})
      _ -> "a new version"
    end
  end

  defp check_runtime!(old, new) do
    if old.erts != new.erts or old.start_erts != new.start_erts do
      impossible("the running release runs on ERTS #{old.erts}, this build on ERTS #{new.erts}: the emulator cannot be replaced in a running node")
    end

    for app <- [:kernel, :stdlib] do
      {_, a} = List.keyfind(old.apps, app, 0)
      {_, b} = List.keyfind(new.apps, app, 0)
      if a != b, do: impossible("the running release has OTP's #{app} #{a}, this build #{app} #{b}: a different OTP release cannot be applied in place")
    end

    unless List.keymember?(old.apps, :sasl, 0) do
      impossible("the running release #{old.vsn} does not include :sasl, whose release_handler applies upgrades: add :sasl to extra_applications in mix.exs and deploy that by restart; later pushes can then be hot")
    end

    unless List.keymember?(new.apps, :sasl, 0) do
      impossible("this build's release does not include :sasl, whose release_handler applies upgrades: keep :sasl in extra_applications in mix.exs")
    end
  end

  defp lib_dir(root, app, vsn), do: Path.join([root, "lib", "#{app}-#{vsn}"])

  # A NIF library is loaded once per module instance and cannot be swapped
  # under a running module: any change to one means a restart.
  defp check_nifs!(app, old_lib, new_lib) do
    old = libraries(old_lib)
    new = libraries(new_lib)

    for name <- Enum.uniq(Map.keys(old) ++ Map.keys(new)), old[name] != new[name] do
      what = cond do
        old[name] == nil -> "was added"
        new[name] == nil -> "was removed"
        true -> "changed"
      end

      impossible("#{app}: the NIF library #{name} #{what}, and a NIF cannot be replaced in a running node")
    end
  end

  defp libraries(lib) do
    for path <- Path.wildcard(Path.join(lib, "priv/**/*.so")), into: %{} do
      {Path.relative_to(path, lib), :crypto.hash(:sha256, File.read!(path))}
    end
  end

  # The application callback starts the top of the supervision tree, once,
  # at boot: an upgrade cannot re-run it, so a changed one needs a restart.
  defp check_top!(app, old_lib, new_lib) do
    old_mod = callback(old_lib, app)
    new_mod = callback(new_lib, app)

    cond do
      old_mod != new_mod ->
        impossible("#{app}: the application callback changed from #{inspect(old_mod)} to #{inspect(new_mod)}, and the top of the supervision tree starts only at boot")

      old_mod != nil and md5(beam(old_lib, old_mod)) != md5(beam(new_lib, new_mod)) ->
        impossible("#{app}: its application callback #{inspect(new_mod)} changed, and the top of the supervision tree it starts runs only at boot")

      true ->
        :ok
    end
  end

  defp callback(lib, app) do
    {:ok, [{:application, ^app, props}]} = :file.consult(String.to_charlist(Path.join([lib, "ebin", "#{app}.app"])))

    case props[:mod] do
      {mod, _args} -> mod
      _ -> nil
    end
  end

  defp beam(lib, mod), do: Path.join([lib, "ebin", "#{mod}.beam"])

  # beam_lib's MD5 covers the code chunks only: a change in debug info,
  # docs or compile time alone does not count as a change.
  defp md5(path) do
    {:ok, {_, digest}} = :beam_lib.md5(String.to_charlist(path))
    digest
  end

  defp shipped_appup(build_dir, app, from, to) do
    path = Path.join([build_dir, "rel/appups", "#{app}", "#{from}_to_#{to}.appup"])

    if File.exists?(path) do
      shown = Path.relative_to(path, build_dir)

      case :file.consult(String.to_charlist(path)) do
        {:ok, [{new_vsn, [{old_vsn, up}], [{old_down, down}]} = appup]}
        when is_list(up) and is_list(down) ->
          unless to_string(new_vsn) == to and to_string(old_vsn) == from and to_string(old_down) == from do
            fail("#{shown} is an appup for #{new_vsn} from #{old_vsn}, but this upgrade takes #{app} from #{from} to #{to}: fix its versions")
          end

          say("#{app} #{from} -> #{to}: using the appup the app ships (#{shown})")
          print(appup)
          appup

        {:ok, _} ->
          fail("#{shown} must hold one term {\"#{to}\", [{\"#{from}\", UpInstructions}], [{\"#{from}\", DownInstructions}]}")

        {:error, reason} ->
          fail("#{shown} does not parse: #{:file.format_error(reason)}")
      end
    end
  end

  defp generate_appup(app, from, to, old_lib, new_lib) do
    old = modules(old_lib)
    new = modules(new_lib)
    added = Map.keys(new) -- Map.keys(old)
    deleted = Map.keys(old) -- Map.keys(new)
    changed = for {mod, info} <- new, Map.has_key?(old, mod), old[mod].md5 != info.md5, do: mod
    moving = MapSet.new(changed ++ added)

    updates =
      changed
      |> Enum.map(fn mod ->
        info = new[mod]
        deps = info.imports |> MapSet.intersection(moving) |> MapSet.delete(mod) |> Enum.sort()

        instruction =
          cond do
            supervisor?(info) -> {:update, mod, :supervisor}
            info.code_change -> {:update, mod, {:advanced, []}, deps}
            true -> {:load_module, mod, deps}
          end

        {mod, deps, instruction}
      end)
      |> in_dependency_order()

    up = Enum.map(Enum.sort(added), &{:add_module, &1}) ++ updates ++ Enum.map(Enum.sort(deleted), &{:delete_module, &1})
    down = Enum.map(Enum.sort(deleted), &{:add_module, &1}) ++ Enum.reverse(updates) ++ Enum.map(Enum.sort(added), &{:delete_module, &1})
    appup = {String.to_charlist(to), [{String.to_charlist(from), up}], [{String.to_charlist(from), down}]}
    say("#{app} #{from} -> #{to}: generated appup (#{length(added)} added, #{length(changed)} changed, #{length(deleted)} deleted module(s))")
    print(appup)
    appup
  end

  defp modules(lib) do
    for path <- Path.wildcard(Path.join([lib, "ebin", "*.beam"])), into: %{} do
      file = String.to_charlist(path)
      {:ok, {mod, chunks}} = :beam_lib.chunks(file, [:attributes, :exports, :imports])
      attributes = chunks[:attributes]
      behaviours = Keyword.get_values(attributes, :behaviour) ++ Keyword.get_values(attributes, :behavior)
      imports = MapSet.new(chunks[:imports], fn {m, _, _} -> m end)
      code_change = Enum.any?(chunks[:exports], &(&1 in [{:code_change, 3}, {:code_change, 4}]))
      {mod, %{md5: md5(path), behaviours: List.flatten(behaviours), imports: imports, code_change: code_change}}
    end
  end

  defp supervisor?(info), do: Enum.any?(info.behaviours, &(&1 in [:supervisor, Supervisor]))

  # Callees before their callers, so that a caller's new code never runs
  # against an old callee; a cycle keeps its members' alphabetical order.
  defp in_dependency_order(entries) do
    by_mod = Map.new(entries, fn {mod, deps, instruction} -> {mod, {deps, instruction}} end)

    {order, _} =
      entries
      |> Enum.map(&elem(&1, 0))
      |> Enum.sort()
      |> Enum.reduce({[], MapSet.new()}, fn mod, acc -> visit(mod, by_mod, MapSet.new(), acc) end)

    order |> Enum.reverse() |> Enum.map(&elem(by_mod[&1], 1))
  end

  defp visit(mod, by_mod, path, {order, seen} = acc) do
    if MapSet.member?(seen, mod) or MapSet.member?(path, mod) or not Map.has_key?(by_mod, mod) do
      acc
    else
      {deps, _} = by_mod[mod]
      {order, seen} = Enum.reduce(deps, {order, seen}, &visit(&1, by_mod, MapSet.put(path, mod), &2))
      {[mod | order], MapSet.put(seen, mod)}
    end
  end

  # Applications whose code changed under the same version would keep their
  # old code until a restart; the push goes on, but says so.
  defp warn_unversioned_changes(old_root, new_root, old_apps, new_apps) do
    for {app, vsn} <- new_apps, {app, vsn} in old_apps do
      old = modules_md5(lib_dir(old_root, app, vsn))
      new = modules_md5(lib_dir(new_root, app, vsn))
      differing = for {mod, digest} <- new, Map.get(old, mod) != digest, do: mod

      if differing != [] do
        say("warning: #{app} #{vsn} has #{length(differing)} changed module(s) (#{differing |> Enum.take(3) |> Enum.map_join(", ", &inspect/1)}) under the same version: they load only when the node restarts; bump #{app}'s version to upgrade it hot")
      end
    end

    old_protocols = modules_md5(Path.join([old_root, "releases", release_vsn(old_root), "consolidated"]), "")
    new_protocols = modules_md5(Path.join([new_root, "releases", release_vsn(new_root), "consolidated"]), "")

    if old_protocols != new_protocols do
      say("warning: consolidated protocols changed: they are reloaded only when the node restarts")
    end
  end

  defp release_vsn(root), do: root |> Path.join("releases/start_erl.data") |> File.read!() |> String.split() |> List.last()

  defp modules_md5(dir, sub \\ "ebin") do
    for path <- Path.wildcard(Path.join([dir, sub, "*.beam"])), into: %{} do
      {Path.basename(path, ".beam"), md5(path)}
    end
  end

  defp make_relup!(old, new) do
    paths = [~c"#{old.root}/lib/*/ebin", ~c"#{new.root}/lib/*/ebin"]
    outdir = String.to_charlist(Path.join([new.root, "releases", new.vsn]))
    from = String.to_charlist(old.rel)

    case :systools.make_relup(String.to_charlist(new.rel), [from], [from], [{:path, paths}, {:outdir, outdir}, :silent]) do
      {:ok, _relup, _module, warnings} ->
        for warning <- warnings, do: say("systools: #{inspect(warning)}")

      {:error, module, reason} ->
        fail("systools could not make the relup from #{old.vsn} to #{new.vsn}: #{module.format_error(reason)}")
    end
  end

  # What release_handler:unpack_release("NEW") reads from releases/NEW.tar.gz:
  # releases/NEW.rel, the new release directory with its relup, and the
  # library directories the running node does not have yet.
  defp package!(old, new) do
    libs =
      for {app, vsn} <- new.apps, {app, vsn} not in old.apps do
        {~c"lib/#{app}-#{vsn}", String.to_charlist(lib_dir(new.root, app, vsn))}
      end

    release_dir = Path.join([new.root, "releases", new.vsn])
    entries = libs ++ [{~c"releases/#{new.vsn}", String.to_charlist(release_dir)}, {~c"releases/#{new.vsn}.rel", String.to_charlist(new.rel <> ".rel")}]
    package = Path.join([new.root, "releases", "#{new.vsn}.tar.gz"])

    case :erl_tar.create(String.to_charlist(package), entries, [:compressed]) do
      :ok -> :ok
      {:error, reason} -> fail("could not write the upgrade package #{package}: #{inspect(reason)}")
    end
  end

  defp write_command!(new, old) do
    path = Path.join([new.root, "bin", "hot-upgrade"])
    running = new.root

    File.write!(path, """
    #!/bin/sh
    # bin/hot-upgrade [--down] [RUNNING_RELEASE_ROOT]
    #
    # Upgrades the node running #{new.name} #{old.vsn} to #{new.vsn} in place, through
    # OTP's release_handler: unpack, install (the relup's instructions, with
    # code_change for the processes that need it), make permanent. With
    # --down, installs #{old.vsn} back on a node that runs #{new.vsn}.
    # RUNNING_RELEASE_ROOT is the running node's release directory
    # (#{running} in a dyno). Exits non-zero with the reason when the node
    # cannot take it; the node then keeps running what it ran.
    set -eu
    here=$(CDPATH= cd "$(dirname "$0")/.." && pwd -P)
    direction=up
    if [ "${1:-}" = "--down" ]; then direction=down; shift; fi
    target=$(CDPATH= cd "${1:-#{running}}" && pwd -P)
    if [ ! -x "$target/bin/#{new.name}" ]; then
      echo "hot-upgrade: $target is not the directory of release #{new.name} (no bin/#{new.name})" >&2
      exit 2
    fi
    if [ "$direction" = up ]; then
      if [ "$here" != "$target" ]; then
        cp "$here/releases/#{new.vsn}.tar.gz" "$target/releases/.#{new.vsn}.tar.gz.$$"
        mv "$target/releases/.#{new.vsn}.tar.gz.$$" "$target/releases/#{new.vsn}.tar.gz"
      fi
      exec "$target/bin/#{new.name}" rpc '
        vsn = ~c"#{new.vsn}"
        case List.keyfind(:release_handler.which_releases(), vsn, 1) do
          nil ->
            case :release_handler.unpack_release(vsn) do
              {:ok, ^vsn} -> :ok
              other -> raise "could not unpack #{new.vsn}: #{"#"}{inspect(other)}"
            end
          {_, _, _, status} when status in [:current, :permanent] ->
            raise "#{new.vsn} is already #{"#"}{status} on this node"
          _ ->
            :ok
        end
        case :release_handler.install_release(vsn) do
          {:ok, from, _} -> IO.puts("#{new.name}: installed #{new.vsn} over #{"#"}{from} on #{"#"}{node()}, OS pid #{"#"}{System.pid()}")
          other -> raise "could not install #{new.vsn}: #{"#"}{inspect(other)}; the node keeps running its version"
        end
        :ok = :release_handler.make_permanent(vsn)
        IO.puts("#{new.name}: #{new.vsn} is permanent")
      '
    else
      exec "$target/bin/#{new.name}" rpc '
        vsn = ~c"#{old.vsn}"
        case :release_handler.install_release(vsn) do
          {:ok, _, _} -> IO.puts("#{new.name}: installed #{old.vsn} (down from #{new.vsn}) on #{"#"}{node()}, OS pid #{"#"}{System.pid()}")
          other -> raise "could not install #{old.vsn}: #{"#"}{inspect(other)}; the node keeps running its version"
        end
        :ok = :release_handler.make_permanent(vsn)
        IO.puts("#{new.name}: #{old.vsn} is permanent")
      '
    fi
    """)

    File.chmod!(path, 0o755)
  end

  defp write_record!(build_dir, old, new) do
    dir = Path.join(build_dir, ".kiln")
    File.mkdir_p!(dir)
    command = Path.relative_to(Path.join([new.root, "bin", "hot-upgrade"]), build_dir)
    record = ~s({"release": "#{new.name}", "from": "#{old.vsn}", "to": "#{new.vsn}", "command": "#{command}"}\n)
    File.write!(Path.join(dir, "upgrade.json"), record)
  end

  defp print(appup) do
    :io_lib.format(~c"~p.", [appup])
    |> IO.chardata_to_string()
    |> String.split("\n")
    |> Enum.each(&IO.puts("       " <> &1))
  end

  defp say(line), do: IO.puts("       " <> line)

  defp impossible(reason) do
    fail("Hot upgrade impossible: #{reason}.\nA push without KILN-HOT: true deploys this commit by restart.")
  end

  defp fail(message) do
    for line <- String.split(message, "\n"), do: IO.puts(:stderr, " !     " <> line)
    System.halt(1)
  end
end

Kiln.HotUpgrade.main(System.argv())
