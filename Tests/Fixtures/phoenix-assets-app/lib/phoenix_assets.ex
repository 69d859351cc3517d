defmodule PhoenixAssets do
  @moduledoc "A Phoenix-shaped app: what matters here is its static files."
  def greeting, do: Application.get_env(:phoenix_assets, :greeting)
end
