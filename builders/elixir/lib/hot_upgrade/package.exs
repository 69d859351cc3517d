defmodule Kiln.HotUpgrade.Package do
  @moduledoc "What release_handler and the deployer need: the relup, the upgrade package, bin/hot-upgrade, and the record for the worker."

  alias Kiln.HotUpgrade.{Log, Release}

  def relup!(old, new) do
    paths = [~c"#{old.root}/lib/*/ebin", ~c"#{new.root}/lib/*/ebin"]
    outdir = String.to_charlist(Path.join([new.root, "releases", new.vsn]))
    from = String.to_charlist(old.rel)

    case :systools.make_relup(String.to_charlist(new.rel), [from], [from], [
           {:path, paths},
           {:outdir, outdir},
           :silent
         ]) do
      {:ok, _relup, _module, warnings} ->
        for warning <- warnings, do: Log.say("systools: #{inspect(warning)}")

      {:error, module, reason} ->
        Log.fail(
          "systools could not make the relup from #{old.vsn} to #{new.vsn}: #{module.format_error(reason)}"
        )
    end
  end

  # What release_handler:unpack_release("NEW") reads from releases/NEW.tar.gz:
  # releases/NEW.rel, the new release directory with its relup, and the
  # library directories the running node does not have yet.
  def tarball!(old, new) do
    libs =
      for {app, vsn} <- new.apps, {app, vsn} not in old.apps do
        {~c"lib/#{app}-#{vsn}", String.to_charlist(Release.lib_dir(new.root, app, vsn))}
      end

    release_dir = Path.join([new.root, "releases", new.vsn])

    entries =
      libs ++
        [
          {~c"releases/#{new.vsn}", String.to_charlist(release_dir)},
          {~c"releases/#{new.vsn}.rel", String.to_charlist(new.rel <> ".rel")}
        ]

    package = Path.join([new.root, "releases", "#{new.vsn}.tar.gz"])

    case :erl_tar.create(String.to_charlist(package), entries, [:compressed]) do
      :ok ->
        :ok

      {:error, reason} ->
        Log.fail("could not write the upgrade package #{package}: #{inspect(reason)}")
    end
  end

  def command!(new, old, running) do
    path = Path.join([new.root, "bin", "hot-upgrade"])

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
    direction=up target=#{running}
    for argument in "$@"; do
      case "$argument" in
        --down) direction=down ;;
        -*) echo "hot-upgrade: unknown option $argument (usage: bin/hot-upgrade [--down] [RUNNING_RELEASE_ROOT])" >&2; exit 2 ;;
        *) target=$argument ;;
      esac
    done
    target=$(CDPATH= cd "$target" && pwd -P)
    if [ ! -x "$target/bin/#{new.name}" ]; then
      echo "hot-upgrade: $target is not the directory of release #{new.name} (no bin/#{new.name})" >&2
      exit 2
    fi
    # install_release replaces every application's environment with the
    # release's sys.config, which mix release writes at build time: what
    # config/runtime.exs sets at boot is evaluated here first, on the node,
    # as the boot does, so that the upgrade keeps it.
    runtime_config() {
      printf '%s\\n' "
        sys = Path.join([:code.root_dir(), \\"releases\\", \\"$1\\", \\"sys.config\\"])
        {:ok, [config]} = :file.consult(String.to_charlist(sys))
        case get_in(config, [:elixir, :config_provider_init]) do
          %{providers: providers, extra_config: extra} ->
            merged = Enum.reduce(providers, Config.Reader.merge(config, extra), fn {provider, state}, acc -> provider.load(acc, state) end)
            header = sys |> File.read!() |> String.split(\\"\\n\\") |> Enum.take_while(&String.starts_with?(&1, \\"%%\\"))
            File.write!(sys, Enum.join(header ++ [IO.chardata_to_string(:io_lib.format(~c\\"~tp.~n\\", [merged]))], \\"\\n\\"))
            IO.puts(\\"#{new.name}: the runtime config of $1 was evaluated on the node, as at boot\\")
          _ ->
            :ok
        end
      "
    }
    if [ "$direction" = up ]; then
      if [ "$here" != "$target" ]; then
        cp "$here/releases/#{new.vsn}.tar.gz" "$target/releases/.#{new.vsn}.tar.gz.$$"
        mv "$target/releases/.#{new.vsn}.tar.gz.$$" "$target/releases/#{new.vsn}.tar.gz"
      fi
      exec "$target/bin/#{new.name}" rpc "
        vsn = ~c\\"#{new.vsn}\\"
        case List.keyfind(:release_handler.which_releases(), vsn, 1) do
          nil ->
            case :release_handler.unpack_release(vsn) do
              {:ok, ^vsn} -> :ok
              other -> raise \\"could not unpack #{new.vsn}: #{"#"}{inspect(other)}\\"
            end
          {_, _, _, status} when status in [:current, :permanent] ->
            raise \\"#{new.vsn} is already #{"#"}{status} on this node\\"
          _ ->
            :ok
        end
        $(runtime_config "#{new.vsn}")
        case :release_handler.install_release(vsn) do
          {:ok, from, _} -> IO.puts(\\"#{new.name}: installed #{new.vsn} over #{"#"}{from} on #{"#"}{node()}, OS pid #{"#"}{System.pid()}\\")
          other -> raise \\"could not install #{new.vsn}: #{"#"}{inspect(other)}; the node keeps running its version\\"
        end
        :ok = :release_handler.make_permanent(vsn)
        IO.puts(\\"#{new.name}: #{new.vsn} is permanent\\")
      "
    else
      exec "$target/bin/#{new.name}" rpc "
        vsn = ~c\\"#{old.vsn}\\"
        $(runtime_config "#{old.vsn}")
        case :release_handler.install_release(vsn) do
          {:ok, _, _} -> IO.puts(\\"#{new.name}: installed #{old.vsn} (down from #{new.vsn}) on #{"#"}{node()}, OS pid #{"#"}{System.pid()}\\")
          other -> raise \\"could not install #{old.vsn}: #{"#"}{inspect(other)}; the node keeps running its version\\"
        end
        :ok = :release_handler.make_permanent(vsn)
        IO.puts(\\"#{new.name}: #{old.vsn} is permanent\\")
      "
    fi
    """)

    File.chmod!(path, 0o755)
  end

  def record!(build_dir, old, new) do
    dir = Path.join(build_dir, ".kiln")
    File.mkdir_p!(dir)
    command = Path.relative_to(Path.join([new.root, "bin", "hot-upgrade"]), build_dir)

    record =
      ~s({"release": "#{new.name}", "from": "#{old.vsn}", "to": "#{new.vsn}", "command": "#{command}"}\n)

    File.write!(Path.join(dir, "upgrade.json"), record)
  end
end
