defmodule Kiln.HotUpgrade.Checks do
  @moduledoc "What makes a hot upgrade impossible, refused, or worth a warning."

  alias Kiln.HotUpgrade.{Log, Release}

  def versions!(old, new) do
    bumped =
      case {Version.parse(old.vsn), Version.parse(new.vsn)} do
        {{:ok, a}, {:ok, b}} -> Version.compare(b, a) == :gt
        _ -> old.vsn != new.vsn
      end

    unless bumped do
      Log.fail("""
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

  def runtime!(old, new) do
    if old.erts != new.erts or old.start_erts != new.start_erts do
      Log.impossible(
        "the running release runs on ERTS #{old.erts}, this build on ERTS #{new.erts}: the emulator cannot be replaced in a running node"
      )
    end

    for app <- [:kernel, :stdlib] do
      {_, a} = List.keyfind(old.apps, app, 0)
      {_, b} = List.keyfind(new.apps, app, 0)

      if a != b,
        do:
          Log.impossible(
            "the running release has OTP's #{app} #{a}, this build #{app} #{b}: a different OTP release cannot be applied in place"
          )
    end

    unless List.keymember?(old.apps, :sasl, 0) do
      Log.impossible(
        "the running release #{old.vsn} does not include :sasl, whose release_handler applies upgrades: add :sasl to extra_applications in mix.exs and deploy that by restart; later pushes can then be hot"
      )
    end

    unless List.keymember?(new.apps, :sasl, 0) do
      Log.impossible(
        "this build's release does not include :sasl, whose release_handler applies upgrades: keep :sasl in extra_applications in mix.exs"
      )
    end
  end

  # A NIF library is loaded once per module instance and cannot be swapped
  # under a running module: any change to one means a restart.
  def nifs!(app, old_lib, new_lib) do
    old = libraries(old_lib)
    new = libraries(new_lib)

    for name <- Enum.uniq(Map.keys(old) ++ Map.keys(new)), old[name] != new[name] do
      what =
        cond do
          old[name] == nil -> "was added"
          new[name] == nil -> "was removed"
          true -> "changed"
        end

      Log.impossible(
        "#{app}: the NIF library #{name} #{what}, and a NIF cannot be replaced in a running node"
      )
    end
  end

  defp libraries(lib) do
    for path <- Path.wildcard(Path.join(lib, "priv/**/*.so")), into: %{} do
      {Path.relative_to(path, lib), :crypto.hash(:sha256, File.read!(path))}
    end
  end

  # The application callback starts the top of the supervision tree, once,
  # at boot: an upgrade cannot re-run it, so a changed one needs a restart.
  def top!(app, old_lib, new_lib) do
    old_mod = callback(old_lib, app)
    new_mod = callback(new_lib, app)

    cond do
      old_mod != new_mod ->
        Log.impossible(
          "#{app}: the application callback changed from #{inspect(old_mod)} to #{inspect(new_mod)}, and the top of the supervision tree starts only at boot"
        )

      old_mod != nil and
          Release.md5(Release.beam(old_lib, old_mod)) !=
            Release.md5(Release.beam(new_lib, new_mod)) ->
        Log.impossible(
          "#{app}: its application callback #{inspect(new_mod)} changed, and the top of the supervision tree it starts runs only at boot"
        )

      true ->
        :ok
    end
  end

  defp callback(lib, app) do
    {:ok, [{:application, ^app, props}]} =
      :file.consult(String.to_charlist(Path.join([lib, "ebin", "#{app}.app"])))

    case props[:mod] do
      {mod, _args} -> mod
      _ -> nil
    end
  end

  # An application whose code changed under the same version is neither in
  # the relup nor in the upgrade package: the node, and any later restart of
  # it, would keep the old code while fresh nodes run the new.
  def unversioned_changes!(old_release, new_release) do
    for {app, vsn} <- new_release.apps, {app, vsn} in old_release.apps do
      old = Release.modules_md5(Release.lib_dir(old_release.root, app, vsn))
      new = Release.modules_md5(Release.lib_dir(new_release.root, app, vsn))
      differing = for {mod, digest} <- new, Map.get(old, mod) != digest, do: mod

      if differing != [] do
        shown = differing |> Enum.take(3) |> Enum.map_join(", ", &inspect/1)

        Log.fail("""
        Hot upgrade refused: #{app} #{vsn} has #{length(differing)} changed module(s) (#{shown}) under the same version.
        Its code would change only on nodes started from the new slug: bump #{app}'s version and push again with KILN-HOT: true,
        or push without KILN-HOT to deploy this commit by restart.\
        """)
      end
    end
  end

  # Protocols are consolidated per release (releases/VSN/consolidated), outside
  # every application: a changed one is in no appup, and a new implementation
  # would be missing on the upgraded node.
  def protocols!(old_release, new_release) do
    [old, new] =
      for release <- [old_release, new_release] do
        Release.modules_md5(
          Path.join([release.root, "releases", release.vsn, "consolidated"]),
          ""
        )
      end

    differing = for {protocol, digest} <- new, Map.get(old, protocol) != digest, do: protocol

    if differing != [] do
      Log.impossible(
        "protocol implementations changed (#{Enum.join(differing, ", ")}): consolidated protocols are loaded only at boot"
      )
    end
  end
end
