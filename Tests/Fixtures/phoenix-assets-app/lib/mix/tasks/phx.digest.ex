defmodule Mix.Tasks.Phx.Digest do
  @shortdoc "Digests priv/static and writes cache_manifest.json (as Phoenix does)"
  use Mix.Task
  @impl true
  def run(_args) do
    files = Path.wildcard("priv/static/**/*.{js,css}") |> Enum.reject(&String.contains?(&1, "-"))
    digests =
      for file <- files, into: %{} do
        digest = :crypto.hash(:md5, File.read!(file)) |> Base.encode16(case: :lower)
        relative = Path.relative_to(file, "priv/static")
        digested = Path.rootname(relative) <> "-" <> digest <> Path.extname(relative)
        File.cp!(file, Path.join("priv/static", digested))
        {relative, digested}
      end
    body = "{" <> Enum.map_join(Enum.sort(digests), ",", fn {k, v} -> ~s("#{k}":"#{v}") end) <> "}"
    File.write!("priv/static/cache_manifest.json", ~s({"latest":#{body}}))
    Mix.shell().info("Check your digested files at \"priv/static\"")
  end
end
