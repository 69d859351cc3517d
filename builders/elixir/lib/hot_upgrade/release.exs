defmodule Kiln.HotUpgrade.Release do
  @moduledoc "A release directory as mix release lays it out, and its compiled modules."

  alias Kiln.HotUpgrade.Log

  # The release in `root`: its name, version, ERTS and applications, from
  # releases/start_erl.data and the .rel file mix wrote beside the boot files.
  def read(root) do
    [erts, vsn] = root |> Path.join("releases/start_erl.data") |> File.read!() |> String.split()
    [rel_file] = Path.wildcard(Path.join([root, "releases", vsn, "*.rel"]))

    {:ok, [{:release, {name, _}, {:erts, rel_erts}, apps}]} =
      :file.consult(String.to_charlist(rel_file))

    apps = for entry <- apps, do: {elem(entry, 0), to_string(elem(entry, 1))}

    %{
      root: root,
      name: to_string(name),
      vsn: vsn,
      erts: to_string(rel_erts),
      start_erts: erts,
      apps: apps,
      rel: Path.rootname(rel_file)
    }
  end

  # The running slug's release of the same name, in the same MIX_ENV's
  # _build when it has one (as `new_root`, BUILD/_build/ENV/rel/NAME, is).
  def previous_root(slug, new_root) do
    name = Path.basename(new_root)
    env = new_root |> Path.dirname() |> Path.dirname() |> Path.basename()

    case Path.wildcard(Path.join(slug, "_build/*/rel/*/releases/start_erl.data")) do
      [] ->
        Log.impossible(
          "the running release is not an Elixir release: its slug has no _build/*/rel/*/releases/start_erl.data (it was not built by mix release)"
        )

      found ->
        roots =
          found
          |> Enum.map(&Path.dirname(Path.dirname(&1)))
          |> Enum.filter(&(Path.basename(&1) == name))

        Enum.find(roots, &String.ends_with?(&1, "/_build/#{env}/rel/#{name}")) ||
          List.first(roots) ||
          Log.impossible(
            "the running slug has release #{found |> Enum.map(&Path.basename(Path.dirname(Path.dirname(&1)))) |> Enum.join(", ")}, not #{name}: a renamed release cannot replace another in place"
          )
    end
  end

  def lib_dir(root, app, vsn), do: Path.join([root, "lib", "#{app}-#{vsn}"])

  def beam(lib, mod), do: Path.join([lib, "ebin", "#{mod}.beam"])

  # beam_lib's MD5 covers the code chunks only: a change in debug info,
  # docs or compile time alone does not count as a change.
  def md5(path) do
    {:ok, {_, digest}} = :beam_lib.md5(String.to_charlist(path))
    digest
  end

  def modules_md5(dir, sub \\ "ebin") do
    for path <- Path.wildcard(Path.join([dir, sub, "*.beam"])), into: %{} do
      {Path.basename(path, ".beam"), md5(path)}
    end
  end
end
