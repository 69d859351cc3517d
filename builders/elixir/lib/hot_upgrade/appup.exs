defmodule Kiln.HotUpgrade.Appup do
  @moduledoc "An application's appup: the one the app ships, or one generated from its old and new beams."

  alias Kiln.HotUpgrade.{Log, Release}

  def shipped(build_dir, app, from, to) do
    path = Path.join([build_dir, "rel/appups", "#{app}", "#{from}_to_#{to}.appup"])

    if File.exists?(path) do
      shown = Path.relative_to(path, build_dir)

      case :file.consult(String.to_charlist(path)) do
        {:ok, [{new_vsn, [{old_vsn, up}], [{old_down, down}]} = appup]}
        when is_list(up) and is_list(down) ->
          unless to_string(new_vsn) == to and to_string(old_vsn) == from and
                   to_string(old_down) == from do
            Log.fail(
              "#{shown} is an appup for #{new_vsn} from #{old_vsn}, but this upgrade takes #{app} from #{from} to #{to}: fix its versions"
            )
          end

          Log.say("#{app} #{from} -> #{to}: using the appup the app ships (#{shown})")
          Log.term(appup)
          appup

        {:ok, _} ->
          Log.fail(
            "#{shown} must hold one term {\"#{to}\", [{\"#{from}\", UpInstructions}], [{\"#{from}\", DownInstructions}]}"
          )

        {:error, reason} ->
          Log.fail("#{shown} does not parse: #{:file.format_error(reason)}")
      end
    end
  end

  def generate(app, from, to, old_lib, new_lib) do
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

    up =
      Enum.map(Enum.sort(added), &{:add_module, &1}) ++
        updates ++ Enum.map(Enum.sort(deleted), &{:delete_module, &1})

    down =
      Enum.map(Enum.sort(deleted), &{:add_module, &1}) ++
        Enum.reverse(updates) ++ Enum.map(Enum.sort(added), &{:delete_module, &1})

    appup =
      {String.to_charlist(to), [{String.to_charlist(from), up}],
       [{String.to_charlist(from), down}]}

    Log.say(
      "#{app} #{from} -> #{to}: generated appup (#{length(added)} added, #{length(changed)} changed, #{length(deleted)} deleted module(s))"
    )

    Log.term(appup)
    appup
  end

  defp modules(lib) do
    for path <- Path.wildcard(Path.join([lib, "ebin", "*.beam"])), into: %{} do
      file = String.to_charlist(path)
      {:ok, {mod, chunks}} = :beam_lib.chunks(file, [:attributes, :exports, :imports])
      attributes = chunks[:attributes]

      behaviours =
        Keyword.get_values(attributes, :behaviour) ++ Keyword.get_values(attributes, :behavior)

      imports = MapSet.new(chunks[:imports], fn {m, _, _} -> m end)
      code_change = Enum.any?(chunks[:exports], &(&1 in [{:code_change, 3}, {:code_change, 4}]))

      {mod,
       %{
         md5: Release.md5(path),
         behaviours: List.flatten(behaviours),
         imports: imports,
         code_change: code_change
       }}
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

      {order, seen} =
        Enum.reduce(deps, {order, seen}, &visit(&1, by_mod, MapSet.put(path, mod), &2))

      {[mod | order], MapSet.put(seen, mod)}
    end
  end
end
